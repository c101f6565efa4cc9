"""Runtime placeholders (`{event}`, `{contact.queue.id}`, `{authentications.api-key}`, ...).

One catalogue says which names exist and what they hold; the configuration check, the condition
check and (later) the renderer all read it, so a name is known everywhere or nowhere.
Literal braces are written doubled: `{{` and `}}`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """What a placeholder holds, for the checks that depend on it."""

    VALUE = "value"  # a string, number or null
    OBJECT = "object"  # an object or a list
    FREE = "free"  # anything below is allowed (attached data, response body)


Node = Kind | Mapping[str, "Node"]

_QUEUE: Mapping[str, Node] = {"id": Kind.VALUE, "address": Kind.VALUE, "name": Kind.VALUE}
_AGENT: Mapping[str, Node] = {
    "id": Kind.VALUE,
    "number": Kind.VALUE,
    "chat_address": Kind.VALUE,
    "name": Kind.VALUE,
}
# The fields of conversations.snapshot.contact_snapshot, which builds the runtime values.
CONTACT_FIELDS: Mapping[str, Node] = {
    "id": Kind.VALUE,
    "guid": Kind.VALUE,
    "channel_type": Kind.VALUE,
    "channel_sub_type": Kind.VALUE,
    "direction": Kind.VALUE,
    "created": Kind.VALUE,
    "language": Kind.VALUE,
    "priority": Kind.VALUE,
    "skills": Kind.OBJECT,
    "queue": _QUEUE,
    "forwarding_queue": _QUEUE,
    "agent": _AGENT,
    "preferred_agent": _AGENT,
    "required_agents": Kind.OBJECT,
    "required_agents_expiry": Kind.VALUE,
    "transferring_agent": _AGENT,
    "source": Kind.VALUE,
    "destination": Kind.VALUE,
    "external_destination": Kind.VALUE,
    "cad": Kind.FREE,
    "state": Kind.VALUE,
    "sinch_contact_id": Kind.VALUE,
    "sinch_conversation_id": Kind.VALUE,
    "simulated": Kind.VALUE,
}
EVENT_FIELDS: Mapping[str, Node] = {"name": Kind.VALUE, "datetime": Kind.VALUE, "id": Kind.VALUE}
RESPONSE_FIELDS: Mapping[str, Node] = {
    "status": Kind.VALUE,
    "body": Kind.FREE,
    "headers": Kind.FREE,
}
# `{event}` alone is the event's name (Contact Pro's shorthand), so it is a value.
ROOTS: Mapping[str, Node] = {
    "event": EVENT_FIELDS,
    "contact": CONTACT_FIELDS,
    "authentications": Kind.FREE,
    "response": RESPONSE_FIELDS,
}

# A placeholder: braces around a dotted name; `{{`/`}}` are literal braces.
PLACEHOLDER_RE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.:@-]*)\}")


@dataclass(frozen=True)
class Placeholder:
    """One `{...}` found in a string."""

    name: str
    start: int
    end: int

    @property
    def parts(self) -> list[str]:
        return self.name.split(".")

    @property
    def root(self) -> str:
        return self.parts[0]

    def __str__(self) -> str:
        return "{" + self.name + "}"


def find_placeholders(text: str) -> Iterator[Placeholder]:
    """The placeholders in `text`, skipping doubled (literal) braces."""
    for match in PLACEHOLDER_RE.finditer(text):
        if match.group(1) is not None:
            yield Placeholder(match.group(1), match.start(), match.end())


def resolve(parts: list[str]) -> tuple[Node | None, str]:
    """The catalogue node a dotted name reaches, or None and what is wrong with it."""
    if parts == ["event"]:
        return Kind.VALUE, ""
    node: Node = ROOTS
    walked: list[str] = []
    for part in parts:
        if node is Kind.FREE:
            return node, ""
        if not isinstance(node, Mapping):
            return None, f"{{{'.'.join(walked)}}} is a single value with no fields"
        if part not in node:
            return None, _unknown(walked, part, node)
        walked.append(part)
        node = node[part]
    return node, ""


def holds_object(node: Node) -> bool:
    """Whether a placeholder of this node renders as an object or list."""
    return isinstance(node, Mapping) or node is Kind.OBJECT


def _unknown(walked: list[str], part: str, node: Mapping[str, Node]) -> str:
    prefix = ".".join(walked)
    full = f"{prefix}.{part}" if prefix else part
    names = [f"{prefix}.{key}" if prefix else key for key in node]
    close = difflib.get_close_matches(full, names, n=1, cutoff=0.75)
    if close:
        return f"unknown placeholder {{{full}}}; did you mean {{{close[0]}}}?"
    known = ", ".join("{" + name + "}" for name in names)
    return f"unknown placeholder {{{full}}}; known here: {known}"
