"""Every rule an integration must pass before it is saved, written once for the admin and the API.

Pure functions: what they need from the database (queues, agents) comes in as a `References`
object, so that the same checks run in a form, a serializer and a copy. The JSON configuration's
own check is `integrations.configuration`; the `set` keys' rules are `integrations.set_keys`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from configurator.credentials import CredentialBlock, secret_problem
from configurator.limits import CONFIGURATION_MAX_BYTES, json_size_problem
from conversations.choices import Event
from integrations.choices import (
    CONVERSATION_TYPE_LABELS,
    ECHO_ENDPOINT,
    PREFIXED_ENTRY_RE,
    QUEUE_CHANNEL_TYPES,
    IntegrationChannelType,
    conversation_types,
    supported_events,
)
from integrations.configuration import configuration_check, placeholder_problem
from integrations.placeholders import Kind, find_placeholders, holds_object, resolve
from integrations.set_keys import References

MAX_SECRET_LENGTH = 4000
HEADER_ENTRY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_URL_VALIDATOR = URLValidator(schemes=["https"])


# --- Authentication entries -----------------------------------------------------------------


@dataclass
class AuthenticationInput:
    """One authentication entry as entered; `secret` None keeps a stored one."""

    authentication_id: str
    secret: str | None = None
    has_stored_secret: bool = False
    # The ID of the stored entry this one edits under a new ID (its secret stays with that ID).
    replaces: str | None = None


# The shared mechanism (configurator.credentials) told how this app's entries are keyed: by ID.
AUTHENTICATION_BLOCK = CredentialBlock(
    id_fields=("authentication_id",),
    key=lambda values: str(values.get("authentication_id") or "").strip(),
)


@dataclass
class CleanAuthentication:
    """An entry that passed the rules; its type is told by its ID (`authentication_type`)."""

    authentication_id: str
    secret: str | None


@dataclass
class AuthenticationsResult:
    """Cleaned entries, or the errors found, by entry index and field."""

    entries: list[CleanAuthentication] = field(default_factory=list)
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def add(self, index: int, field_name: str, message: str) -> None:
        self.errors.setdefault(index, {}).setdefault(field_name, []).append(message)


def clean_authentications(
    entries: Sequence[AuthenticationInput], *, secrets_optional: bool = False
) -> AuthenticationsResult:
    """Check an integration's authentication block (seed 003, table 2).

    `secrets_optional`: an entry may lack its secret (a configuration import; the integration
    is then stored disabled).
    """
    result = AuthenticationsResult()
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        authentication_id = (entry.authentication_id or "").strip()
        if not authentication_id:
            result.add(index, "authentication_id", "Enter the authentication ID.")
        elif authentication_id.split(":", 1)[0] in {"basic", "digest", "oauth"}:
            if not PREFIXED_ENTRY_RE.match(authentication_id):
                kind = authentication_id.split(":", 1)[0]
                who = "client ID" if kind == "oauth" else "username"
                result.add(
                    index,
                    "authentication_id",
                    f"Enter {kind}:<{who}>: the {who} after the colon, without spaces or "
                    "another colon.",
                )
        elif not HEADER_ENTRY_RE.match(authentication_id):
            result.add(
                index,
                "authentication_id",
                "Enter basic:<username>, digest:<username>, oauth:<client ID>, or a name for "
                "a header value (letters, digits, “.”, “_”, “-”; e.g. api-key).",
            )
        if authentication_id in seen:
            result.add(
                index,
                "authentication_id",
                f"“{authentication_id}” is already entry {seen[authentication_id] + 1}.",
            )
        seen.setdefault(authentication_id, index)
        secret = entry.secret or None
        problem = secret_problem(
            secret,
            has_stored_secret=entry.has_stored_secret or secrets_optional,
            replaces=entry.replaces,
            max_length=MAX_SECRET_LENGTH,
        )
        if problem:
            result.add(index, "secret", problem)
        if index not in result.errors:
            result.entries.append(
                CleanAuthentication(authentication_id=authentication_id, secret=secret)
            )
    return result


# --- The integration as a whole ---------------------------------------------------------------


@dataclass(frozen=True)
class ScopeQueue:
    """A queue chosen for an integration's scope."""

    name: str
    channel_type: str


@dataclass
class IntegrationInput:
    """An integration as entered, before it is saved."""

    channel_type: str
    direction: str
    endpoint_url: str
    events: Sequence[str]
    direct_chats: bool
    direct_calls: bool
    queues: Sequence[ScopeQueue]
    authentication_ids: Sequence[str]
    configuration: Any

    @classmethod
    def of(
        cls,
        value: Callable[[str], Any],
        *,
        queues: Iterable[Any],
        authentication_ids: Sequence[str],
    ) -> IntegrationInput:
        """From any source of the fields: a form's cleaned data, an API body, a stored row."""
        return cls(
            channel_type=value("channel_type"),
            direction=value("direction"),
            endpoint_url=value("endpoint_url") or "",
            events=value("events") or [],
            direct_chats=bool(value("direct_chats")),
            direct_calls=bool(value("direct_calls")),
            queues=[ScopeQueue(q.name, q.channel_type) for q in queues],
            authentication_ids=authentication_ids,
            configuration=value("configuration"),
        )


@dataclass
class IntegrationCheck:
    """Errors by field (`configuration` errors are "path: message"), and notices."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def add(self, field_name: str, message: str) -> None:
        self.errors.setdefault(field_name, []).append(message)


def clean_integration(spec: IntegrationInput, *, references: References) -> IntegrationCheck:
    """Check everything an administrator entered; nothing may fail later for a typo."""
    check = IntegrationCheck()
    if spec.channel_type not in IntegrationChannelType.values:
        # Said alone: events, scope and configuration all depend on it.
        check.add(
            "channel_type",
            f"“{spec.channel_type}” is not a channel type; one of: "
            f"{', '.join(IntegrationChannelType.values)}.",
        )
        return check
    for problem in endpoint_url_problems(spec.endpoint_url):
        check.add("endpoint_url", problem)
    _check_events(spec, check)
    _check_scope(spec, check)
    too_large = json_size_problem(spec.configuration, CONFIGURATION_MAX_BYTES)
    if too_large:
        # Said alone: a configuration that cannot be stored is not worth checking further.
        check.add("configuration", too_large)
        return check
    nul = _nul_path(spec.configuration, "")
    if nul is not None:
        # PostgreSQL's text and JSON refuse the character: it would fail at the save.
        where = nul or "the configuration"
        check.add("configuration", f"{where}: contains a NUL character (\\u0000).")
        return check
    configuration = configuration_check(
        spec.configuration,
        channel_type=spec.channel_type,
        endpoint_url=spec.endpoint_url,
        authentication_ids=spec.authentication_ids,
        references=references,
    )
    for fault in configuration.problems:
        check.add("configuration", str(fault))
    check.notices.extend(configuration.notices)
    return check


def _nul_path(value: Any, path: str) -> str | None:
    """The JSON path of the first key or string holding a NUL character, else None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            found = _nul_path(item, here)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _check_events(spec: IntegrationInput, check: IntegrationCheck) -> None:
    types = conversation_types(spec.channel_type, spec.direction)
    if not types:
        check.add("direction", "E-mail conversations are inbound only: choose Inbound.")
        return
    supported = supported_events(types)
    produced_by = ", ".join(CONVERSATION_TYPE_LABELS[kind] for kind in types)
    for event in spec.events:
        if event not in Event.values:
            check.add("events", f"“{event}” is not an event; events: {', '.join(Event.values)}.")
        elif event not in supported:
            check.add(
                "events",
                f"{Event(event).label}: none of this integration's conversations "
                f"({produced_by}) produce it.",
            )


def _check_scope(spec: IntegrationInput, check: IntegrationCheck) -> None:
    channel = IntegrationChannelType(spec.channel_type)
    if spec.direct_chats and spec.channel_type not in {"chat", "multi"}:
        check.add("direct_chats", f"A {channel.label} integration has no direct chats.")
    if spec.direct_calls and spec.channel_type not in {"phone", "multi"}:
        check.add("direct_calls", f"A {channel.label} integration has no direct calls.")
    allowed = QUEUE_CHANNEL_TYPES[spec.channel_type]
    for queue in spec.queues:
        if queue.channel_type not in allowed:
            check.add(
                "queues",
                f"Queue “{queue.name}” is a {queue.channel_type} queue; a {channel.label} "
                f"integration takes {' or '.join(sorted(allowed))} queues.",
            )


def endpoint_url_problems(url: str) -> list[str]:
    """`https://…` (placeholders allowed in path and query, not in the host) or `edi://echo`."""
    url = (url or "").strip()
    if url == ECHO_ENDPOINT:
        return []
    if not url.lower().startswith("https://"):
        return [f"Enter an https:// address, or {ECHO_ENDPOINT} to answer from the contact's data."]
    problems: list[str] = []
    for placeholder in find_placeholders(url):
        problem = placeholder_problem(placeholder, path=("endpoint_url",))
        if problem:
            problems.append(problem)
        elif holds_object(resolve(placeholder.parts)[0] or Kind.VALUE):
            problems.append(
                f"{placeholder} is an object; an address needs a single value "
                f"such as {{{placeholder.name}.id}}."
            )
    concrete = _without_placeholders(url)
    parts = urlsplit(concrete)
    if "{" in urlsplit(url).netloc or "}" in urlsplit(url).netloc:
        problems.append("Placeholders may be used in the path and query, not in the host.")
    elif parts.username or parts.password:
        problems.append(
            "Remove the credentials from the address: add them as an authentication entry."
        )
    else:
        try:
            _URL_VALIDATOR(concrete)
        except ValidationError:
            problems.append("Enter a complete https:// address, e.g. https://api.example.com/x.")
    return problems


def _without_placeholders(text: str) -> str:
    return re.sub(r"\{[^{}]*\}", "x", text.replace("{{", "").replace("}}", ""))
