"""Where an integration fires: the one derivation of (event, conversation type, scope).

An integration fires on an event of a conversation when the event is one of its events, the
conversation's type (channel and direction) is one it applies to and produces that event, and
the conversation is in one of its queues or is direct and direct ones are in its scope. The
trigger table (`services.triggers_rebuild`), the list warnings (`selectors.firing_warnings`) and
the test run (`testrun`) all read `firing_points`; `misses` says in words which of those
conditions keeps one event of one conversation out of them (a test holds the two together).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from conversations.choices import ChannelType, Event
from integrations.choices import SUPPORTED_EVENTS, conversation_types


@dataclass(frozen=True)
class Scope:
    """A queue of the integration's scope, or its direct chats or calls (`queue_id` None)."""

    queue_id: int | None
    channel_type: str
    label: str


@dataclass(frozen=True)
class FiringPoint:
    """One event of one conversation type in one scope on which the integration fires."""

    event: str
    channel_type: str
    direction: str
    scope: Scope


def scopes_of(
    *, queues: Iterable[tuple[int, str, str]], direct_chats: bool, direct_calls: bool
) -> list[Scope]:
    """The scopes: each queue (ID, channel type, name), then direct chats and direct calls."""
    scopes = [Scope(pk, channel, f"queue “{name}”") for pk, channel, name in queues]
    if direct_chats:
        scopes.append(Scope(None, ChannelType.CHAT, "direct chats"))
    if direct_calls:
        scopes.append(Scope(None, ChannelType.PHONE, "direct calls"))
    return scopes


def firing_points(
    *, channel_type: str, direction: str, events: Iterable[str], scopes: Iterable[Scope]
) -> list[FiringPoint]:
    """Every (event, conversation type, scope) the integration fires on, in lifecycle order."""
    chosen = set(events)
    scoped = list(scopes)
    return [
        FiringPoint(event, channel, way, scope)
        for channel, way in conversation_types(channel_type, direction)
        for event in SUPPORTED_EVENTS[(channel, way)]
        if event in chosen
        for scope in scoped
        if scope.channel_type == channel
    ]


def misses(
    *,
    channel_type: str,
    direction: str,
    events: Iterable[str],
    scopes: Iterable[Scope],
    event: str,
    kind: tuple[str, str],
    queue_id: int | None,
    queue_name: str = "",
) -> list[str]:
    """Why `event` of a conversation of `kind` (channel, direction) in queue `queue_id` (None:
    direct) is not one of the integration's firing points, each failing condition in words;
    empty when it is one."""
    reasons = []
    if event not in set(events):
        reasons.append(f"{Event(event).label} is not one of its events")
    conversation = f"{kind[1]} {kind[0]}"
    if kind not in conversation_types(channel_type, direction):
        reasons.append(f"it does not apply to {conversation} conversations")
    elif event not in SUPPORTED_EVENTS[kind]:
        reasons.append(f"{conversation} conversations have no {Event(event).label} event")
    if not any(s.queue_id == queue_id and s.channel_type == kind[0] for s in scopes):
        reasons.append(
            f"queue “{queue_name}” is not in its scope"
            if queue_id is not None
            else f"direct {kind[0]} conversations are not in its scope"
        )
    return reasons


def trigger_rows(
    *,
    channel_type: str,
    direction: str,
    events: Iterable[str],
    queues: Iterable[tuple[int, str]],
    direct_chats: bool,
    direct_calls: bool,
) -> list[tuple[str, str, str, int | None]]:
    """(event, conversation channel, direction, queue ID or None for direct) it fires on.

    The rows of the trigger table; the data migration 0002 calls it with historical rows.
    """
    scopes = scopes_of(
        queues=[(pk, channel, "") for pk, channel in queues],
        direct_chats=direct_chats,
        direct_calls=direct_calls,
    )
    points = firing_points(
        channel_type=channel_type, direction=direction, events=events, scopes=scopes
    )
    return [(p.event, p.channel_type, p.direction, p.scope.queue_id) for p in points]
