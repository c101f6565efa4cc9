"""Who may see customers' personal data: one rule, for every page and endpoint that shows it.

Personal data is the customer's identity (phone numbers, channel identities, Sinch contact
IDs), what they and the agents wrote or sent (texts, media), the attached data (CAD), the
contact data kept with each event, the callbacks' bodies and the requests integrations made
from it. Users without `conversations.view_personal_data` see the rest of a contact (state,
queue, agent, times) with those fields left out or emptied, in the admin and the API alike.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

PERSONAL_DATA_PERMISSION = "conversations.view_personal_data"

# A contact's fields that are personal data; the API empties them, the admin leaves them out.
CONTACT_PERSONAL_FIELDS = (
    "source",
    "destination",
    "external_destination",
    "cad",
    "sinch_contact_id",
)
# A message's fields that are personal data.
MESSAGE_PERSONAL_FIELDS = ("text", "media_url", "content")
# A contact event's fields that are personal data (its detail names the customer's identity).
CONTACT_EVENT_PERSONAL_FIELDS = ("detail", "snapshot")

# What the API schema says of every field above.
REDACTED_NOTE = "Null without the permission to view customers' personal data."


def can_view_personal_data(user: Any) -> bool:
    """Whether `user` may see customers' personal data wherever it appears (contacts, their
    messages and events, callbacks' bodies, deliveries, test runs with a real contact).

    An integration developer or a viewer must not read it through any page, so every page
    and endpoint that shows it asks here.
    """
    return bool(user and user.is_active and user.has_perm(PERSONAL_DATA_PERMISSION))


def personal_fields_emptied(row: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """`row` (a serialized object) with `fields` set to null."""
    for name in fields:
        if name in row:
            row[name] = None
    return row


def without_personal_fields(request: Any, names: Any, personal: Collection[str]) -> list[Any]:
    """An admin's field or column names without `personal` ones unless the user may see them.

    Entries may be tuples of names (fields on one line), as admin fieldsets write them.
    """
    if can_view_personal_data(request.user):
        return list(names)
    kept: list[Any] = []
    for entry in names:
        if isinstance(entry, str):
            if entry not in personal:
                kept.append(entry)
            continue
        line = tuple(name for name in entry if name not in personal)
        if line:
            kept.append(line)
    return kept


def personal_search_fields(request: Any, names: Any, personal: Collection[str]) -> list[str]:
    """An admin's search fields without those that look up personal data (`source__exact`)."""
    if can_view_personal_data(request.user):
        return list(names)
    return [name for name in names if name.lstrip("=^@").split("__")[0] not in personal]


def personal_filters_check(*, user: Any, query: Any, names: Collection[str]) -> None:
    """Refuse (PermissionDenied) a list filtered by personal data the user may not see, so
    that it cannot tell whether a customer wrote."""
    if any(query.get(name) for name in names) and not can_view_personal_data(user):
        raise PermissionDenied(str(FILTER_REFUSED))


FILTER_REFUSED = _(
    "Filtering by a customer's identity needs the permission to view customers' personal data."
)


CHAT_START_REFUSED = _(
    "Starting a chat needs the permission to view customers' personal data: it means typing a "
    "customer's identity, and its answers say whether that customer has written."
)


def chat_start_check(*, user: Any) -> None:
    """Refuse (PermissionDenied) starting a chat to a user who may not see personal data, before
    any lookup, so that its errors cannot tell who wrote or has an open conversation."""
    if not can_view_personal_data(user):
        raise PermissionDenied(str(CHAT_START_REFUSED))
