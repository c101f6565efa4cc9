"""Which ended contacts' events are old enough to go (configurator.retention).

A contact's events are its timeline with a snapshot of the contact at each step; once the contact
has ended long enough they go together, counted from the end. The contact itself and its messages
stay. Other apps' rows may refer to events (an integration's delivery names the event it was sent
for): such an app registers a hold (`configurator.extensions.contact_event_holds`), and the events
of a contact stay while it has rows of the holding table, and at least as long as that table keeps
its rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from configurator import extensions, retention
from conversations.choices import Event
from conversations.models import ContactEvent

# The event that ends a contact; it is its last one and marks the contact as due.
FINAL_EVENTS = [Event.ENDED, Event.ABANDONED]


@dataclass(frozen=True)
class ContactHold:
    """Rows of another app (with a `contact` foreign key) that keep their contact's events."""

    model: type[models.Model]
    days: Callable[[], int]


def events_days() -> int:
    """CONTACT_EVENTS_RETENTION_DAYS, or longer while a holding table keeps its rows longer."""
    days = [retention.setting_days("CONTACT_EVENTS_RETENTION_DAYS")()]
    days += [hold.days() for hold in extensions.contact_event_holds]
    return 0 if any(value <= 0 for value in days) else max(days)


def events_due(final_event: str) -> retention.DueRows:
    """Events of contacts whose `final_event` came before the cutoff and that nothing holds.

    The contacts are found by their final event, oldest first, a batch of `limit` at a time
    (index conversations_event_kind, read in order: one final event per rule, so no sort), and
    their events by the contact's indexed foreign key. Events come in time order: a
    contact's final event comes after all its others, so a batch that takes it has taken the
    rest, and a contact is never left without its final event while it still has events.
    """

    def due(before: datetime, limit: int | None) -> QuerySet[ContactEvent]:
        finals = ContactEvent.objects.filter(
            event=final_event, occurred_at__lt=before, contact__ended_at__lt=before
        )
        for hold in extensions.contact_event_holds:
            finals = finals.exclude(
                Exists(hold.model._default_manager.filter(contact_id=OuterRef("contact_id")))
            )
        finals = finals.order_by("occurred_at")
        if limit is not None:
            finals = finals[:limit]
        return ContactEvent.objects.filter(contact_id__in=finals.values("contact_id")).order_by(
            "occurred_at", "id"
        )

    return due


def rules() -> list[retention.Rule]:
    """Ended contacts' events, CONTACT_EVENTS_RETENTION_DAYS after the contact ended."""
    return [
        retention.Rule(
            table=_("contact events"),
            model=ContactEvent,
            days=events_days,
            due=events_due(final_event),
            subset=final_event.label,
        )
        for final_event in FINAL_EVENTS
    ]
