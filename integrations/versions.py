"""Integration versions: what a version holds (the snapshot) and how two of them differ.

Pure functions over stored values, shared by the service that writes versions, the admin's
pages and the API: a snapshot is made from an integration's fields, its queues (ID and name, so
that a queue deleted since can still be named) and its authentication entries' IDs (never their
secrets); a diff says field by field what changed, and the configuration JSON as a line diff.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# The snapshot's fields in the order the pages show them, with their labels.
SNAPSHOT_FIELDS: dict[str, Promise] = {
    "name": _("name"),
    "description": _("description"),
    "channel_type": _("channel type"),
    "endpoint_url": _("endpoint URL"),
    "ordinal": _("ordinal"),
    "direction": _("conversation direction"),
    "events": _("events"),
    "enabled": _("enabled"),
    "direct_chats": _("direct chats"),
    "direct_calls": _("direct calls"),
    "queues": _("queues"),
    "authentications": _("authentication IDs"),
    "configuration": _("JSON for configuration"),
}
# Copied from the integration's own field of the same name.
PLAIN_FIELDS = tuple(name for name in SNAPSHOT_FIELDS if name not in {"queues", "authentications"})


def snapshot_of(
    values: Mapping[str, Any],
    *,
    queues: Iterable[tuple[int, str]],
    authentication_ids: Iterable[str],
) -> dict[str, Any]:
    """A version's content: the fields (`values`), queues by (ID, name) and entry IDs."""
    snapshot = {name: values[name] for name in PLAIN_FIELDS}
    snapshot["queues"] = [{"id": pk, "name": name} for pk, name in sorted(queues)]
    snapshot["authentications"] = sorted(authentication_ids)
    # Configuration last and as stored: key order kept (OrderedJSONField).
    snapshot["configuration"] = snapshot.pop("configuration")
    return snapshot


def _compared(name: str, value: Any) -> Any:
    """What counts as a change: a queue renamed since is the same queue; keys put in another
    order are a change of the configuration (its bodies are sent in the order typed)."""
    if name == "queues":
        return [queue["id"] for queue in value or []]
    if name == "configuration":
        return json.dumps(value, ensure_ascii=False)
    return value


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The snapshot fields that differ."""
    return [
        name
        for name in SNAPSHOT_FIELDS
        if _compared(name, before.get(name)) != _compared(name, after.get(name))
    ]


def shown(name: str, value: Any) -> str:
    """A snapshot field's value as a person reads it in a diff."""
    if name == "queues":
        return ", ".join(f"{q['name']} (ID {q['id']})" for q in value or []) or "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    if value in (None, ""):
        return "—"
    return str(value)


def configuration_text(configuration: Any) -> str:
    """The configuration pretty-printed, keys in their stored order, as the editor shows it."""
    return json.dumps(configuration, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between two versions (the configuration is in `lines`)."""

    name: str
    label: str
    before: Any
    after: Any


@dataclass
class VersionDiff:
    """How version `after` differs from version `before`: fields, and the JSON line by line."""

    before: int
    after: int
    fields: list[FieldChange] = field(default_factory=list)
    # A unified diff of the pretty-printed configurations ("-" before, "+" after), no headers.
    configuration: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.fields and not self.configuration


def versions_diff(
    *,
    before: int,
    before_snapshot: Mapping[str, Any],
    after: int,
    after_snapshot: Mapping[str, Any],
) -> VersionDiff:
    """Field by field, and the configuration as a readable line diff (difflib)."""
    diff = VersionDiff(before=before, after=after)
    for name in changed_fields(before_snapshot, after_snapshot):
        if name == "configuration":
            diff.configuration = configuration_lines(
                before_snapshot.get(name), after_snapshot.get(name)
            )
            continue
        diff.fields.append(
            FieldChange(
                name=name,
                label=str(SNAPSHOT_FIELDS[name]),
                before=before_snapshot.get(name),
                after=after_snapshot.get(name),
            )
        )
    return diff


def configuration_lines(before: Any, after: Any) -> list[str]:
    """The unified diff of two configurations, without the file headers."""
    lines: Sequence[str] = list(
        difflib.unified_diff(
            configuration_text(before).splitlines(),
            configuration_text(after).splitlines(),
            lineterm="",
            n=3,
        )
    )
    return list(lines[2:])  # "--- " and "+++ " name no files here


def summary(*, changed: Sequence[str], first: bool, restored_from: int | None) -> str:
    """What a version changed, in a few words for the list."""
    if first:
        return str(_("first version"))
    fields = ", ".join(str(SNAPSHOT_FIELDS.get(name, name)) for name in changed) or "—"
    if restored_from is not None:
        return str(
            _("restored from version %(number)d: %(fields)s")
            % {"number": restored_from, "fields": fields}
        )
    return fields
