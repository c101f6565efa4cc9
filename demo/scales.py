"""What the demo dataset holds: how many rows of each kind, and in which proportions.

`small` is a demo on SQLite in seconds; `large` is the yardstick of DESIGN.md ("Scale"): 10,000
queues, 100,000 contacts (300,000 events, 100,000 messages), 1,000,000 callbacks and 200,000
integration deliveries, spread over the last 30 days. The weighted tables are read by both ways
of inserting the rows (`demo.dataset` through the ORM, `demo.postgres` in SQL), so the two
spread the same values.
"""

from __future__ import annotations

from dataclasses import dataclass

from conversations.choices import Event
from conversations.choices import MessageStatus as MsgStatus
from messaging.choices import CallbackStatus, Trigger
from queues.choices import SUBCHANNELS as QUEUE_SUBCHANNELS

DAYS = 30
SUBCHANNELS = tuple(sub.name for sub in QUEUE_SUBCHANNELS)
SINCH_CHANNELS = {sub.name: sub.sinch_channel for sub in QUEUE_SUBCHANNELS}
# Where a month of contacts stands: most ended, some still waiting or with an agent.
CONTACT_STATES: tuple[tuple[str, int], ...] = (
    (Event.ENDED, 62),
    (Event.ABANDONED, 10),
    (Event.QUEUED, 10),
    (Event.ACCEPTED, 8),
    (Event.ALLOCATED, 4),
    (Event.TRANSFERRED, 3),
    (Event.FORWARDED, 2),
    (Event.RECEIVED, 1),
)
CALLBACK_TRIGGERS: tuple[tuple[str, int], ...] = (
    (Trigger.MESSAGE_DELIVERY, 45),
    (Trigger.MESSAGE_INBOUND, 35),
    (Trigger.EVENT_INBOUND, 8),
    (Trigger.CONVERSATION_START, 4),
    (Trigger.CONVERSATION_STOP, 4),
    (Trigger.CONTACT_CREATE, 2),
    (Trigger.CHANNEL_EVENT, 2),
)
CALLBACK_STATUSES: tuple[tuple[str, int], ...] = (
    (CallbackStatus.PROCESSED, 90),
    (CallbackStatus.IGNORED, 8),
    (CallbackStatus.FAILED, 2),
)
MESSAGE_STATUSES: tuple[tuple[str, int], ...] = (
    (MsgStatus.READ, 40),
    (MsgStatus.DELIVERED, 35),
    (MsgStatus.SENT, 15),
    (MsgStatus.FAILED, 10),
)


@dataclass(frozen=True)
class Scale:
    """How many rows of each kind a dataset holds."""

    services: int
    apps_per_service: int
    queues: int
    agents: int
    integrations: int
    contacts: int
    callbacks: int
    deliveries: int
    # Contacts given `busy_rows` more events and messages each (a long conversation).
    busy_contacts: int = 0
    busy_rows: int = 0


# Finished task rows per callback (the worker's processing runs and integration deliveries),
# kept TASK_DAYS: what a worker's table holds under retention.
TASK_RESULTS_PER_CALLBACK = 0.6
TASK_DAYS = 7
TASK_PATHS: tuple[tuple[str, int], ...] = (
    ("messaging.wake.process_callbacks", 80),
    ("integrations.dispatch.deliver_pending", 18),
    ("conversations.overflow.forward_overdue_contacts", 2),
)


SCALES: dict[str, Scale] = {
    "small": Scale(
        services=2,
        apps_per_service=2,
        queues=20,
        agents=12,
        integrations=6,
        contacts=300,
        callbacks=3000,
        deliveries=600,
    ),
    # 100 services x 10 apps x 10 subchannels: exactly one address for each of 10,000 queues.
    "large": Scale(
        services=100,
        apps_per_service=10,
        queues=10_000,
        agents=2_000,
        integrations=40,
        contacts=100_000,
        callbacks=1_000_000,
        deliveries=200_000,
        busy_contacts=5,
        busy_rows=500,
    ),
}
