"""The import's plan: what a document would create, update, leave or delete, computed without
writing.

The document's parts are first brought into the landscape (`Mapping`: another region/project,
other app IDs) and into the form the apps store (upper-case app IDs, long queue addresses,
Sinch's trigger names, events in lifecycle order), then compared field by field with the stored
objects as `document` exports them. An import of the document just exported therefore plans
nothing but "unchanged".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from configurator.names import names_folded
from conversations.choices import Event
from messaging.choices import AuthenticationDirection
from messaging.validation import (
    INBOUND_AUTHENTICATION_ID,
    OUTBOUND_ID_RE,
    entry_match_key,
    normalize_trigger,
    parse_service_connection,
)
from queues.choices import QueueChannelType
from queues.validation import parse_chat_address
from transfer import document

CREATE, UPDATE, UNCHANGED, DELETE = "create", "update", "unchanged", "delete"
# What a document's list holds, and what one of its objects is called in messages.
KIND_LABELS = {
    "services": "messaging service",
    "queues": "queue",
    "agents": "agent",
    "integrations": "integration",
}
_CONNECTION_RE = re.compile(r"^(?P<region>[a-z]{2})/(?P<project>[A-Za-z0-9][A-Za-z0-9-]*)$")


@dataclass(frozen=True)
class LandscapeMapping:
    """Where the document's landscape lands in this one: connections and app IDs, old → new."""

    connections: Mapping[str, str] = field(default_factory=dict)
    apps: Mapping[str, str] = field(default_factory=dict)

    def connection(self, url: str) -> str:
        """The service connection moved to the mapped region/project (others unchanged)."""
        try:
            region, project = parse_service_connection(url)
        except ValidationError:
            return url  # the service's own validation names the fault when it is saved
        mapped = self.connections.get(f"{region}/{project}")
        if mapped is None:
            return url
        new_region, new_project = mapped.split("/", 1)
        return (
            f"https://{new_region}.conversation.api.sinch.com/v1/projects/{new_project}"
            "/messages:send"
        )

    def app(self, app_id: str) -> str:
        """The app ID in this landscape."""
        return self.apps.get(app_id.upper(), app_id)


def mapping_problems(
    connections: Mapping[str, str], apps: Mapping[str, str]
) -> dict[str, list[str]]:
    """What is wrong with the mapping options, by option (empty: nothing)."""
    problems: dict[str, list[str]] = {}
    for old, new in connections.items():
        for side in (old, new):
            match = _CONNECTION_RE.match(side)
            if match is None or match["region"] not in {"eu", "us", "br"}:
                problems.setdefault("map_connection", []).append(
                    f"“{side}”: give region/project ID, e.g. eu/my-project (region eu, us or br)."
                )
    for old, new in apps.items():
        for side in (old, new):
            if not re.match(r"^[A-Za-z0-9]{1,64}$", side):
                problems.setdefault("map_app", []).append(
                    f"“{side}”: an app ID is letters and digits (at most 64)."
                )
    return problems


def mapping_of(connections: Mapping[str, str], apps: Mapping[str, str]) -> LandscapeMapping:
    """A checked mapping (`mapping_problems` is empty), app IDs upper-cased as Sinch has them."""
    return LandscapeMapping(
        connections=dict(connections),
        apps={old.upper(): new.upper() for old, new in apps.items()},
    )


def pairs(lines: Iterable[str], option: object) -> dict[str, str]:
    """`OLD=NEW` lines (command options, the admin page's boxes) as a dict; ValueError if not."""
    found: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not line:
            continue
        old, equals, new = line.partition("=")
        if not equals or not old.strip() or not new.strip():
            raise ValueError(f"{option}: “{line}” is not OLD=NEW.")
        found[old.strip()] = new.strip()
    return found


@dataclass
class Planned:
    """One object of the plan; `secrets` (given for its entries) is never shown or returned."""

    kind: str
    name: str
    action: str
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets_missing: list[str] = field(default_factory=list)
    desired: dict[str, Any] | None = None
    stored: models.Model | None = None
    secrets: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        """“queue “Sales”” in messages."""
        return f"{KIND_LABELS[self.kind]} “{self.name}”"

    def as_json(self) -> dict[str, Any]:
        """What a person or client is shown: never a secret."""
        shown: dict[str, Any] = {
            "kind": KIND_LABELS[self.kind],
            "name": self.name,
            "action": self.action,
            "changes": self.changes,
        }
        if self.secrets_missing:
            shown["secrets_missing"] = self.secrets_missing
        return shown


@dataclass
class Plan:
    """Every object of the document (and, with prune, every stored one it lacks), in order."""

    objects: list[Planned]
    prune: bool
    # Secrets given for objects or entries the document does not hold (never their values).
    unused_secrets: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[Planned]:
        return [o for o in self.objects if o.kind == kind]

    def summary(self) -> dict[str, int]:
        counts = {CREATE: 0, UPDATE: 0, UNCHANGED: 0, DELETE: 0}
        for planned in self.objects:
            counts[planned.action] += 1
        return counts

    def secrets_unused(self) -> list[str]:
        """Secrets given that nothing in the document takes: a misspelt name or ID, say."""
        return list(self.unused_secrets)

    def secrets_missing(self) -> list[str]:
        """What to do after the import: “enter the secret of KEYID@APPID, then enable”."""
        return [
            f"{planned.label}: enter the secret of {entry}, then enable it."
            for planned in self.objects
            for entry in planned.secrets_missing
        ]


# --- Bringing the document into this landscape, in the stored form ---------------------------


def _service_desired(part: dict[str, Any], mapping: LandscapeMapping) -> dict[str, Any]:
    entries = []
    for entry in part["authentications"]:
        direction = entry["direction"]
        authentication_id = entry["authentication_id"].strip()
        if direction == AuthenticationDirection.INBOUND:
            if authentication_id.lower() == INBOUND_AUTHENTICATION_ID:
                authentication_id = INBOUND_AUTHENTICATION_ID
        else:
            match = OUTBOUND_ID_RE.match(authentication_id)
            if match:
                authentication_id = f"{match['key_id']}@{mapping.app(match['app_id']).upper()}"
        triggers = sorted({normalize_trigger(t) for t in entry.get("triggers") or []})
        entries.append(
            {"direction": direction, "authentication_id": authentication_id, "triggers": triggers}
        )
    return {
        "name": part["name"],
        "type": part["type"],
        "service_connection": mapping.connection(part["service_connection"].strip()),
        "auth_method": part["auth_method"],
        "enabled": part["enabled"],
        "authentications": sorted(entries, key=lambda e: (e["direction"], e["authentication_id"])),
    }


def _address_desired(raw: str, channel_type: str, mapping: LandscapeMapping) -> str:
    app, at, rest = raw.strip().partition("@")
    if at:
        raw = f"{mapping.app(app)}@{rest}"
    if channel_type != QueueChannelType.CHAT:
        return raw.strip()
    try:
        return parse_chat_address(raw)[0].address
    except ValidationError:
        return raw.strip()  # named by the queue's validation when it is saved


def _queue_desired(part: dict[str, Any], mapping: LandscapeMapping) -> dict[str, Any]:
    return {
        "name": part["name"],
        "description": part["description"],
        "channel_type": part["channel_type"],
        "default_priority": part["default_priority"],
        "addresses": sorted(
            _address_desired(a, part["channel_type"], mapping) for a in part["addresses"]
        ),
        "sms_sender_id": part["sms_sender_id"],
        "max_waiting_time": part["max_waiting_time"],
        "overflow_queue": part["overflow_queue"],
    }


def _agent_desired(part: dict[str, Any], mapping: LandscapeMapping) -> dict[str, Any]:
    return {**part, "queues": sorted(set(part["queues"]))}


def _configuration_desired(configuration: Any, mapping: LandscapeMapping) -> Any:
    """The configuration with the app ID of a `set.queue.address` mapped."""
    set_values = document.set_of(configuration)
    queue = set_values.get("queue") if set_values else None
    address = queue.get("address") if isinstance(queue, dict) else None
    if not isinstance(address, str) or "@" not in address:
        return configuration
    app, _, rest = address.strip().partition("@")
    mapped = f"{mapping.app(app)}@{rest}"
    if mapped == address:
        return configuration
    changed = {**(set_values or {}), "queue": {**queue, "address": mapped}}  # type: ignore[dict-item]
    return {**configuration, "response": {**configuration["response"], "set": changed}}


def _integration_desired(part: dict[str, Any], mapping: LandscapeMapping) -> dict[str, Any]:
    chosen = set(part["events"])
    events = [e for e in Event.values if e in chosen] + sorted(chosen - set(Event.values))
    return {
        "name": part["name"],
        "description": part["description"],
        "channel_type": part["channel_type"],
        "endpoint_url": part["endpoint_url"],
        "ordinal": part["ordinal"],
        "direction": part["direction"],
        "events": events,
        "direct_chats": part["direct_chats"],
        "direct_calls": part["direct_calls"],
        "queues": sorted(set(part["queues"])),
        "authentications": sorted(
            (
                {"authentication_id": a["authentication_id"].strip()}
                for a in part["authentications"]
            ),
            key=lambda a: a["authentication_id"],
        ),
        "configuration": _configuration_desired(part["configuration"], mapping),
        # Saving without events disables an integration (integrations.services.integration_save).
        "enabled": part["enabled"] and bool(events),
    }


_DESIRED: dict[str, Callable[[dict[str, Any], LandscapeMapping], dict[str, Any]]] = {
    "services": _service_desired,
    "queues": _queue_desired,
    "agents": _agent_desired,
    "integrations": _integration_desired,
}
_ENTRY: dict[str, Callable[[Any], dict[str, Any]]] = {
    "services": document.service_entry,
    "queues": document.queue_entry,
    "agents": document.agent_entry,
    "integrations": document.integration_entry,
}
_STORED: dict[str, Callable[[], Iterable[Any]]] = {
    "services": document.stored_services,
    "queues": document.stored_queues,
    "agents": document.stored_agents,
    "integrations": document.stored_integrations,
}


def _stored_entries(kind: str, rows: list[Any]) -> list[dict[str, Any]]:
    """Stored rows as the export writes them (a `set`'s database IDs named portably, where they
    can be), so that importing a landscape's own export plans nothing but "unchanged"."""
    if kind != "integrations":
        return [_ENTRY[kind](row) for row in rows]
    references = document.PortableReferences(rows)
    return [document.integration_entry(row, references) for row in rows]


def _entry_key(kind: str, entry: Mapping[str, Any]) -> str:
    """What an authentication entry's secret belongs to (messaging matches outbound by app)."""
    if kind == "services":
        return entry_match_key(entry["direction"], entry["authentication_id"])
    return str(entry["authentication_id"])


def _secret_of(row: Any) -> str | None:
    secret = getattr(row, "secret", None)
    return None if secret is None else str(secret.reveal())


def _secrets_plan(
    kind: str, desired: dict[str, Any], stored: models.Model | None, given: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """(entries that stay without a secret, entries whose secret the import sets or changes)."""
    rows = (
        {}
        if stored is None
        else {
            _entry_key(
                kind,
                {
                    "direction": getattr(r, "direction", ""),
                    "authentication_id": r.authentication_id,
                },
            ): r
            for r in stored.authentications.all()  # type: ignore[attr-defined]
        }
    )
    missing, setting = [], []
    for entry in desired["authentications"]:
        row = rows.get(_entry_key(kind, entry))
        current = None if row is None else _secret_of(row)
        secret = given.get(entry["authentication_id"])
        if secret:
            if secret != current:
                setting.append(entry["authentication_id"])
        elif current is None:
            missing.append(entry["authentication_id"])
    return missing, setting


def plan_import(
    parts: Mapping[str, list[dict[str, Any]]],
    *,
    mapping: LandscapeMapping,
    secrets: Mapping[str, Mapping[str, Mapping[str, str]]],
    prune: bool,
) -> Plan:
    """Compare the document with what is stored; nothing is written."""
    objects: list[Planned] = []
    unused: list[str] = []
    for kind in document.KINDS:
        rows = list(_STORED[kind]())
        entries = _stored_entries(kind, rows)
        stored_rows: dict[Any, models.Model] = {}
        stored_entries: dict[Any, dict[str, Any]] = {}
        for row, entry, key in zip(rows, entries, document.object_keys(kind, entries), strict=True):
            stored_rows[key] = row
            stored_entries[key] = entry
        given_by_name = secrets.get(kind, {})
        wanted = [_DESIRED[kind](part, mapping) for part in parts[kind]]
        folded = names_folded([*given_by_name, *(str(d["name"]) for d in wanted)])
        kind_secrets = {folded[name]: given for name, given in given_by_name.items()}
        held = {folded[str(d["name"])] for d in wanted}
        unused.extend(
            f"{KIND_LABELS[kind]} “{name}” is not in the document: its secrets were not used."
            for name in given_by_name
            if folded[name] not in held
        )
        matched: set[Any] = set()
        for desired, key in zip(wanted, document.object_keys(kind, wanted), strict=True):
            stored = stored_rows.get(key)
            matched.add(key)
            given = dict(kind_secrets.get(folded[str(desired["name"])], {}))
            missing: list[str] = []
            setting: list[str] = []
            if kind in {"services", "integrations"}:
                entry_ids = {e["authentication_id"] for e in desired["authentications"]}
                unused.extend(
                    f"{KIND_LABELS[kind]} “{desired['name']}” has no entry {entry_id} in the "
                    "document: its secret was not used."
                    for entry_id in given
                    if entry_id not in entry_ids
                )
                missing, setting = _secrets_plan(kind, desired, stored, given)
                if missing:
                    desired["enabled"] = False
            current = stored_entries.get(key)
            changes = _changes(current, desired)
            if kind in {"services", "integrations"} and setting:
                changes["secrets"] = {"from": None, "to": setting}
            action = CREATE if stored is None else (UPDATE if changes else UNCHANGED)
            objects.append(
                Planned(
                    kind=kind,
                    name=desired["name"],
                    action=action,
                    changes=changes if stored is not None else {},
                    secrets_missing=missing,
                    desired=desired,
                    stored=stored,
                    secrets=given,
                )
            )
        if prune:
            objects.extend(
                Planned(kind=kind, name=stored_entries[key]["name"], action=DELETE, stored=row)
                for key, row in stored_rows.items()
                if key not in matched
            )
    return Plan(objects=objects, prune=prune, unused_secrets=unused)


def _changes(current: dict[str, Any] | None, desired: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if current is None:
        return {}
    return {
        name: {"from": current.get(name), "to": value}
        for name, value in desired.items()
        if current.get(name) != value
    }
