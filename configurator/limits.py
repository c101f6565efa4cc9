"""How much a person may type into a field, and send in one request: one table for every app.

Free text that is stored without a bound (a queue's or an integration's description, an
integration's JSON configuration, a reply) gets a limit here, checked by the model field's
validator, so that the admin form, the API serializer and the service's `full_clean` all say the
same sentence, naming the field. Limits are never put on a textarea as `maxlength`: a browser
cuts a paste at it without a word, and a JSON configuration cut short means something else.

A whole request has Django's bounds (DATA_UPLOAD_MAX_MEMORY_SIZE, DATA_UPLOAD_MAX_NUMBER_FIELDS);
`configurator.request_limits` answers a request beyond them with the sentences below, the page
again in the admin, a 413 in the API.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext as _

# Descriptions of queues and integrations: a paragraph or two for the next administrator.
DESCRIPTION_MAX_CHARS = 2_000
# An integration's JSON configuration as stored (compact UTF-8): the four documented uses take
# under 2 KiB; a body template of a few hundred fields still fits.
CONFIGURATION_MAX_BYTES = 64 * 1024
# A reply an operator types: a long chat message (channels may cut or split earlier).
REPLY_MAX_CHARS = 4_096
# A message ID Sinch answers a send with (a ULID of 26 in practice), as conversations store it.
SINCH_MESSAGE_ID_MAX_CHARS = 100


def size_text(size: int) -> str:
    """A byte count as a person reads it: 512 bytes, 64 KiB, 2.5 MiB."""
    if size < 1024:
        return _("%(count)d bytes") % {"count": size}
    if size < 1024 * 1024:
        return _("%(size)s KiB") % {"size": _figure(size / 1024)}
    return _("%(size)s MiB") % {"size": _figure(size / (1024 * 1024))}


def _figure(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def text_length_problem(value: str, limit: int) -> str | None:
    """Why a text is too long to store (None when it fits)."""
    if len(value) <= limit:
        return None
    return _("At most %(limit)s characters: this one has %(count)s. Shorten it and save again.") % {
        "limit": f"{limit:,}",
        "count": f"{len(value):,}",
    }


def json_size(value: Any) -> int:
    """Bytes of a JSON value as stored: compact, UTF-8."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def json_size_problem(value: Any, limit: int) -> str | None:
    """Why a JSON value is too large to store (None when it fits)."""
    try:
        size = json_size(value)
    except RecursionError:
        return _("Nested too deeply to be stored.")
    if size <= limit:
        return None
    return _(
        "At most %(limit)s of JSON: this one is %(size)s. Keep long texts and tables at "
        "the endpoint, and send what it needs with placeholders."
    ) % {"limit": size_text(limit), "size": size_text(size)}


@deconstructible
class MaxTextLength:
    """A model field validator: at most `limit` characters (see `text_length_problem`)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, value: Any) -> None:
        problem = text_length_problem(str(value or ""), self.limit)
        if problem:
            raise ValidationError(problem, code="too_long")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MaxTextLength) and other.limit == self.limit

    def __hash__(self) -> int:
        return hash((type(self), self.limit))


@deconstructible
class MaxJsonSize:
    """A model field validator: at most `limit` bytes of JSON as stored (`json_size_problem`)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, value: Any) -> None:
        problem = json_size_problem(value, self.limit)
        if problem:
            raise ValidationError(problem, code="too_large")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MaxJsonSize) and other.limit == self.limit

    def __hash__(self) -> int:
        return hash((type(self), self.limit))


def request_too_large_message(*, admin: bool) -> str:
    """What a person (admin) or a client (API) is told of a body beyond the upload bound."""
    limit = size_text(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if admin:
        return _(
            "Nothing was saved: the form sent more than the %(limit)s this server takes in "
            "one request (DATA_UPLOAD_MAX_MEMORY_SIZE). Something pasted is far too large: "
            "an integration's JSON configuration may have at most %(configuration)s, a "
            "description %(description)s characters. Shorten it and send the form again."
        ) % {
            "limit": limit,
            "configuration": size_text(CONFIGURATION_MAX_BYTES),
            "description": f"{DESCRIPTION_MAX_CHARS:,}",
        }
    return _(
        "The request body is larger than the %(limit)s this server takes "
        "(DATA_UPLOAD_MAX_MEMORY_SIZE)."
    ) % {"limit": limit}


def too_many_fields_message(*, admin: bool) -> str:
    """What is said of a request with more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if admin:
        return _(
            "Nothing was saved: the form sent more than %(limit)s fields, the most this server "
            "takes in one request (DATA_UPLOAD_MAX_NUMBER_FIELDS). Select fewer rows, or save "
            "fewer entries at a time, and send it again."
        ) % {"limit": f"{limit:,}"}
    return _(
        "The request has more than %(limit)s fields, the most this server takes "
        "(DATA_UPLOAD_MAX_NUMBER_FIELDS)."
    ) % {"limit": f"{limit:,}"}
