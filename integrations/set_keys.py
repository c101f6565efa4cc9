"""The keys of `response.set`: one small handler per key, used by every consumer.

Each handler says, for its key, how a literal value is checked at save time (`validate`, with the
JSON path of a fault), how an answer's value becomes its target at run time (`resolve`), what
the target asks of `conversations.services.contact_steer` (`decide`), and how it is worded in a
test run (`describe`) and in a delivery record (`recorded`). The configuration check, the
runtime, the delivery and the test run read `SET_KEYS`; the JSON Schema's `set` lists the same
keys (a test ties them together).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from conversations.services import Steered
from conversations.snapshot import iso
from integrations.choices import QUEUE_CHANNEL_TYPES, IntegrationChannelType
from integrations.placeholders import find_placeholders

MAX_PRIORITY = 2_147_483_647

# A fault found at save time: its JSON path and what is wrong.
Fault = tuple[list[str | int], str]


class References(Protocol):
    """What the save-time checks need to know about queues and agents that exist."""

    def queue_channel_type(self, queue_id: str) -> str | None:
        """Channel type of the queue with this ID, None when there is none."""

    def queue_channel_type_by_address(self, address: str) -> str | None:
        """Channel type of the queue with this address, None when there is none."""

    def agent_exists(self, identifier: str) -> bool:
        """Whether an agent has this ID, number, chat address or e-mail."""


class Targets(Protocol):
    """Finds what a `set` names, for a contact of `channel_type` (selectors.DatabaseTargets)."""

    def queue(self, *, id: str | None, address: str | None, channel_type: str) -> Any:
        """The queue, or raise ValueError saying why it does not fit."""

    def agent(self, identifier: str) -> Any:
        """The agent (by ID, number, chat address or e-mail), or raise ValueError."""


@dataclass(frozen=True)
class SetKey:
    """One key of `response.set` and what each consumer does with it."""

    name: str
    # (value as configured, channel type of the integration, references) -> faults
    validate: Callable[[Any, str, References], Iterator[Fault]]
    # (value as the answer rendered it, targets, channel type of the contact) -> target or None
    resolve: Callable[[Any, Targets, str], Any]
    # target -> fields of conversations.services.RoutingDecision
    decide: Callable[[Any], dict[str, Any]]
    # target -> what a test run shows
    describe: Callable[[Any], Any]
    # what contact_steer applied -> what the delivery record shows (None: not applied)
    recorded: Callable[[Steered], Any]


def is_static(value: Any) -> bool:
    """A set value written as a literal (so it can be checked now), not as a placeholder."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and bool(value.strip()) and not list(find_placeholders(value))


def unsigned(value: Any, what: str, *, low: int = 0) -> int:
    """An answer's integer (digits in a string, a whole float), or ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an unsigned integer, got {short(value)}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not low <= value <= MAX_PRIORITY:
        raise ValueError(
            f"{what} must be an integer from {low} to {MAX_PRIORITY}, got {short(value)}"
        )
    return value


def short(value: Any) -> str:
    """A value as JSON in quotes, cut to 60 characters, for error messages."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return f"“{text[:60]}…”" if len(text) > 60 else f"“{text}”"


def _ref(row: Any) -> dict[str, Any]:
    return {"id": row.pk, "name": row.name}


# --- priority --------------------------------------------------------------------------------


def _priority_validate(value: Any, channel_type: str, references: References) -> Iterator[Fault]:
    if is_static(value) and isinstance(value, str) and not value.strip().isdigit():
        yield (
            ["response", "set", "priority"],
            f"expected an unsigned integer, or a placeholder giving one; found “{value}”",
        )


def _priority_resolve(value: Any, targets: Targets, channel_type: str) -> int:
    return unsigned(value, "priority")


# --- queue -----------------------------------------------------------------------------------


def _queue_validate(value: Any, channel_type: str, references: References) -> Iterator[Fault]:
    if not isinstance(value, dict):
        return
    allowed = QUEUE_CHANNEL_TYPES[channel_type]
    label = IntegrationChannelType(channel_type).label
    for key, lookup in (
        ("id", references.queue_channel_type),
        ("address", references.queue_channel_type_by_address),
    ):
        given = value.get(key)
        if not is_static(given):
            continue
        found = lookup(str(given).strip())
        path: list[str | int] = ["response", "set", "queue", key]
        if found is None:
            yield path, f"no queue has the {'ID' if key == 'id' else 'address'} “{given}”"
        elif found not in allowed:
            yield (
                path,
                f"queue “{given}” is a {found} queue; a {label} integration sets "
                f"{' or '.join(sorted(allowed))} queues",
            )


def _queue_resolve(value: Any, targets: Targets, channel_type: str) -> Any:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected {{'id': …}} or {{'address': …}}, got {short(value)}")
    queue_id, address = value.get("id"), value.get("address")
    if queue_id in (None, "") and address in (None, ""):
        return None
    return targets.queue(
        id=None if queue_id in (None, "") else str(queue_id).strip(),
        address=None if address in (None, "") else str(address).strip(),
        channel_type=channel_type,
    )


def _queue_recorded(steered: Steered) -> Any:
    queue = steered.applied.queue
    return _ref(queue) if queue is not None else None


# --- preferredAgent --------------------------------------------------------------------------


def _agent_validate(value: Any, channel_type: str, references: References) -> Iterator[Fault]:
    if is_static(value) and not references.agent_exists(str(value).strip()):
        yield ["response", "set", "preferredAgent"], f"no agent has the identifier “{value}”"


def _agent_resolve(value: Any, targets: Targets, channel_type: str) -> Any:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError(f"expected an agent identifier, got {short(value)}")
    return targets.agent(str(value).strip())


def _agent_recorded(steered: Steered) -> Any:
    agent = steered.applied.preferred_agent
    return _ref(agent) if agent is not None else None


# --- requiredAgents --------------------------------------------------------------------------


def _required_validate(value: Any, channel_type: str, references: References) -> Iterator[Fault]:
    if not isinstance(value, dict):
        return
    agents = value.get("agents")
    listed = agents if isinstance(agents, list) else [agents]
    for index, identifier in enumerate(listed):
        where: list[str | int] = ["response", "set", "requiredAgents", "agents"]
        if isinstance(agents, list):
            where.append(index)
        if is_static(identifier) and not references.agent_exists(str(identifier).strip()):
            yield where, f"no agent has the identifier “{identifier}”"
    timeout = value.get("timeout")
    if isinstance(timeout, str) and is_static(timeout) and not timeout.strip().isdigit():
        yield (
            ["response", "set", "requiredAgents", "timeout"],
            f"expected a positive number of seconds; found “{timeout}”",
        )


def _required_resolve(value: Any, targets: Targets, channel_type: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected an object with agents, got {short(value)}")
    agents = value.get("agents")
    if isinstance(agents, str):
        agents = [part for part in (p.strip() for p in agents.split(",")) if part]
    if not isinstance(agents, list) or not agents:
        raise ValueError(f"expected a list of agent identifiers, got {short(agents)}")
    timeout = value.get("timeout")
    return {
        "agents": [targets.agent(str(item).strip()) for item in agents],
        "timeout": None if timeout in (None, "") else unsigned(timeout, "timeout", low=1),
    }


def _required_recorded(steered: Steered) -> Any:
    agents = steered.applied.required_agents
    if agents is None:
        return None
    return {
        "agents": [_ref(agent) for agent in agents],
        "expiry": iso(steered.required_agents_expiry),
    }


SET_KEYS: dict[str, SetKey] = {
    handler.name: handler
    for handler in (
        SetKey(
            name="priority",
            validate=_priority_validate,
            resolve=_priority_resolve,
            decide=lambda target: {"priority": target},
            describe=lambda target: target,
            recorded=lambda steered: steered.applied.priority,
        ),
        SetKey(
            name="queue",
            validate=_queue_validate,
            resolve=_queue_resolve,
            decide=lambda target: {"queue": target},
            describe=str,
            recorded=_queue_recorded,
        ),
        SetKey(
            name="preferredAgent",
            validate=_agent_validate,
            resolve=_agent_resolve,
            decide=lambda target: {"preferred_agent": target},
            describe=str,
            recorded=_agent_recorded,
        ),
        SetKey(
            name="requiredAgents",
            validate=_required_validate,
            resolve=_required_resolve,
            decide=lambda target: {
                "required_agents": target["agents"],
                "required_agents_timeout": target["timeout"],
            },
            describe=lambda target: {
                "agents": [str(agent) for agent in target["agents"]],
                "timeout": target["timeout"],
            },
            recorded=_required_recorded,
        ),
    )
}


def set_faults(value: Any, channel_type: str, references: References) -> Iterator[Fault]:
    """Save-time faults of a configuration's `response.set` (literal values only)."""
    if not isinstance(value, dict):
        return
    for key, handler in SET_KEYS.items():
        if key in value:
            yield from handler.validate(value[key], channel_type, references)


def set_resolve(key: str, value: Any, targets: Targets, channel_type: str) -> Any:
    """The target of one `set` key; None when the answer left it empty (nothing to set)."""
    if value is None or value == "":
        return None
    handler = SET_KEYS.get(key)
    if handler is None:
        raise ValueError("unknown key")
    return handler.resolve(value, targets, channel_type)


def set_describe(set_values: Mapping[str, Any]) -> dict[str, Any]:
    """Resolved `set` targets as a test run shows them."""
    return {key: SET_KEYS[key].describe(target) for key, target in set_values.items()}


def set_decision(set_values: Mapping[str, Any]) -> dict[str, Any]:
    """Resolved `set` targets as fields of a `conversations.services.RoutingDecision`."""
    fields: dict[str, Any] = {}
    for key, target in set_values.items():
        fields.update(SET_KEYS[key].decide(target))
    return fields


def set_recorded(keys: list[str], steered: Steered) -> dict[str, Any]:
    """What `contact_steer` applied for `keys`, as a delivery record shows it (in that order)."""
    recorded = {key: SET_KEYS[key].recorded(steered) for key in keys}
    return {key: value for key, value in recorded.items() if value is not None}
