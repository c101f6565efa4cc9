"""Rules for messaging services, written once and called by the admin and the API alike.

Pure functions: they see no database; what they need to know about other services comes in
as a callable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from configurator.credentials import CredentialBlock, EntryValues, secret_problem
from messaging.choices import TRIGGER_ALIASES, AuthenticationDirection, Trigger

SERVICE_CONNECTION_RE = re.compile(
    r"^https://(?P<region>eu|us|br)\.conversation\.api\.sinch\.com"
    r"/v1/projects/(?P<project_id>[A-Za-z0-9][A-Za-z0-9-]{0,62})/messages:send$"
)
SERVICE_CONNECTION_FORMAT = (
    "https://{eu|us|br}.conversation.api.sinch.com/v1/projects/{project ID}/messages:send"
)
# The lengths the stored entries and callbacks hold (ServiceAuthentication.app_id/key_id).
MAX_APP_ID = 64
MAX_KEY_ID = 100
OUTBOUND_ID_RE = re.compile(r"^(?P<key_id>[A-Za-z0-9][A-Za-z0-9_-]*)@(?P<app_id>[A-Za-z0-9]+)$")
INBOUND_AUTHENTICATION_ID = "webhook"
MAX_SECRET_LENGTH = 500
# How long a rotated-out webhook secret may keep verifying (hours): a week covers a weekend's
# wait for whoever changes the Sinch dashboard.
MAX_OVERLAP_HOURS = 168
DEFAULT_OVERLAP_HOURS = 24
# Triggers an inbound entry can subscribe to; UNSPECIFIED_TRIGGER is an error in Sinch too.
SUBSCRIBABLE_TRIGGERS = frozenset(Trigger.values)


def parse_service_connection(url: str) -> tuple[str, str]:
    """Return (region, project ID) of a Conversation API messages:send URL."""
    match = SERVICE_CONNECTION_RE.match(url.strip())
    if not match:
        hint = ""
        if "/v1beta/" in url:
            hint = " The /v1beta/ API is retired: use /v1/."
        elif ".conversation.api.sinch.com" in url and not re.match(r"^https://(eu|us|br)\.", url):
            hint = " The region is eu, us or br."
        raise ValidationError(
            f"Enter the Conversation API address as {SERVICE_CONNECTION_FORMAT}.{hint}",
            code="invalid",
        )
    return match["region"], match["project_id"]


def normalize_trigger(name: str) -> str:
    """Sinch's own spelling of a trigger name (upper-case, aliases folded)."""
    upper = name.strip().upper()
    return str(TRIGGER_ALIASES.get(upper, upper))


@dataclass
class AuthenticationInput:
    """One authentication entry as an administrator or a client entered it."""

    direction: str
    authentication_id: str
    secret: str | None = None
    triggers: Sequence[str] = ()
    has_stored_secret: bool = False
    # The ID of the stored entry this one edits under a new ID (its secret stays with that ID).
    replaces: str | None = None


@dataclass
class CleanAuthentication:
    """An entry that passed the rules, normalised."""

    direction: str
    authentication_id: str
    key_id: str
    app_id: str
    secret: str | None
    triggers: list[str]


@dataclass
class AuthenticationsResult:
    """Cleaned entries, or the errors found, by entry index and field."""

    entries: list[CleanAuthentication] = field(default_factory=list)
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    non_field_errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors and not self.non_field_errors

    def add(self, index: int, field_name: str, message: str) -> None:
        self.errors.setdefault(index, {}).setdefault(field_name, []).append(message)


def entry_match_key(direction: str, authentication_id: str) -> str:
    """Outbound entries match by KEYID@APPID (app ID upper-cased), the inbound one by direction."""
    if direction == AuthenticationDirection.INBOUND:
        return "inbound"
    match = OUTBOUND_ID_RE.match(authentication_id.strip())
    if match:
        return f"outbound:{match['key_id']}@{match['app_id'].upper()}"
    return f"outbound:{authentication_id.strip()}"


def entry_identity(values: EntryValues) -> str | None:
    """An outbound entry is the same entry under a new key ID while its app stays the same."""
    if values.get("direction") == AuthenticationDirection.INBOUND:
        return "inbound"
    match = OUTBOUND_ID_RE.match(str(values.get("authentication_id") or "").strip())
    return f"app:{match['app_id'].upper()}" if match else None


# The shared mechanism (configurator.credentials) told how this app's entries are keyed.
AUTHENTICATION_BLOCK = CredentialBlock(
    id_fields=("direction", "authentication_id"),
    key=lambda values: entry_match_key(
        str(values.get("direction") or ""), str(values.get("authentication_id") or "")
    ),
    identity=entry_identity,
)


def clean_authentications(
    entries: Sequence[AuthenticationInput],
    *,
    app_owners: Callable[[Collection[str]], Mapping[str, str]],
    secrets_optional: bool = False,
) -> AuthenticationsResult:
    """Check a service's whole authentication block.

    `app_owners` maps app IDs to the names of *other* messaging services that already hold
    them: an app belongs to exactly one messaging service. `secrets_optional`: an entry may
    lack its secret (a configuration import; the service is then stored disabled).
    """
    result = AuthenticationsResult()
    apps_seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        cleaned = _clean_entry(index, entry, result, secrets_optional=secrets_optional)
        if cleaned is None:
            continue
        if cleaned.direction == AuthenticationDirection.OUTBOUND and cleaned.app_id in apps_seen:
            result.add(
                index,
                "authentication_id",
                f"App {cleaned.app_id} is already in entry {apps_seen[cleaned.app_id] + 1}: "
                "use one outbound entry per Sinch app.",
            )
            continue
        if cleaned.direction == AuthenticationDirection.OUTBOUND:
            apps_seen[cleaned.app_id] = index
        result.entries.append(cleaned)

    owners = app_owners(list(apps_seen)) if apps_seen else {}
    for app_id, owner in owners.items():
        result.add(
            apps_seen[app_id],
            "authentication_id",
            f"App {app_id} already belongs to messaging service “{owner}”: "
            "an app belongs to exactly one messaging service.",
        )

    if not any(e.direction == AuthenticationDirection.OUTBOUND for e in entries):
        result.non_field_errors.append(
            "Add an outbound entry (KEYID@APPID and the access key secret) for each Sinch app."
        )
    inbound_total = sum(1 for e in entries if e.direction == AuthenticationDirection.INBOUND)
    if inbound_total == 0:
        result.non_field_errors.append(
            "Add the inbound entry: authentication ID “webhook”, the app's webhook secret "
            "and its triggers."
        )
    elif inbound_total > 1:
        result.non_field_errors.append(
            f"A messaging service has exactly one inbound (webhook) entry; found {inbound_total}."
        )
    return result


def _clean_entry(
    index: int, entry: AuthenticationInput, result: AuthenticationsResult, *, secrets_optional: bool
) -> CleanAuthentication | None:
    errors_before = len(result.errors.get(index, {}))
    direction = entry.direction
    if direction not in AuthenticationDirection.values:
        result.add(index, "direction", "Choose outbound or inbound.")
        return None
    raw_id = (entry.authentication_id or "").strip()
    key_id = app_id = ""
    triggers: list[str] = []
    if direction == AuthenticationDirection.OUTBOUND:
        match = OUTBOUND_ID_RE.match(raw_id)
        if not match:
            result.add(
                index,
                "authentication_id",
                "Enter KEYID@APPID: the access key ID, “@”, and the Conversation API app ID.",
            )
        elif len(match["app_id"]) > MAX_APP_ID or len(match["key_id"]) > MAX_KEY_ID:
            result.add(
                index,
                "authentication_id",
                f"An app ID has at most {MAX_APP_ID} characters (Sinch's have 26) and a key ID "
                f"at most {MAX_KEY_ID}.",
            )
        else:
            key_id, app_id = match["key_id"], match["app_id"].upper()
            if app_id != match["app_id"]:
                result.notices.append(
                    f"App IDs are upper-case in Sinch: {match['app_id']} was saved as {app_id}."
                )
            raw_id = f"{key_id}@{app_id}"
        if entry.triggers:
            result.add(
                index,
                "triggers",
                "Triggers belong to the inbound (webhook) entry; leave them empty here.",
            )
    else:
        if raw_id.lower() != INBOUND_AUTHENTICATION_ID:
            result.add(
                index,
                "authentication_id",
                f"The inbound entry's authentication ID is “{INBOUND_AUTHENTICATION_ID}”.",
            )
        raw_id = INBOUND_AUTHENTICATION_ID
        triggers = _clean_triggers(index, entry.triggers, result)

    secret = entry.secret or None
    problem = secret_problem(
        secret,
        has_stored_secret=entry.has_stored_secret or secrets_optional,
        replaces=entry.replaces,
        id_label="key ID" if direction == AuthenticationDirection.OUTBOUND else "entry",
        max_length=MAX_SECRET_LENGTH,
    )
    if problem:
        result.add(index, "secret", problem)
    if len(result.errors.get(index, {})) > errors_before:
        return None
    return CleanAuthentication(
        direction=direction,
        authentication_id=raw_id,
        key_id=key_id,
        app_id=app_id,
        secret=secret,
        triggers=triggers,
    )


def _clean_triggers(index: int, names: Sequence[str], result: AuthenticationsResult) -> list[str]:
    triggers: list[str] = []
    for name in names:
        trigger = normalize_trigger(name)
        if trigger not in SUBSCRIBABLE_TRIGGERS:
            result.add(index, "triggers", f"“{name}” is not a Conversation API trigger.")
        elif trigger not in triggers:
            triggers.append(trigger)
    if Trigger.MESSAGE_INBOUND not in triggers:
        result.add(
            index,
            "triggers",
            "Choose MESSAGE_INBOUND: without it no customer message reaches a queue.",
        )
    return sorted(triggers)


def rotation_problems(secret: str, overlap_hours: int) -> dict[str, list[str]]:
    """What is wrong with a webhook secret rotation, keyed by field (empty when nothing)."""
    problems: dict[str, list[str]] = {}
    problem = secret_problem(secret or None, has_stored_secret=False, max_length=MAX_SECRET_LENGTH)
    if problem is not None:
        problems["secret"] = [problem if secret else "Enter the new webhook secret."]
    if not 0 <= overlap_hours <= MAX_OVERLAP_HOURS:
        problems["overlap_hours"] = [f"Between 0 and {MAX_OVERLAP_HOURS} hours."]
    return problems
