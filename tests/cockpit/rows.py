"""Rows of the kinds the home page counts, made at chosen moments."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from django.utils import timezone

from conversations.models import Contact, ContactEvent
from integrations.models import Delivery, Integration
from messaging.models import Callback, MessagingService

_serial = itertools.count(1)


def callback(service: MessagingService, *, at: datetime | None = None, **fields: Any) -> Callback:
    """A stored callback received at `at` (now by default), with the given status and reason."""
    n = next(_serial)
    return Callback.objects.create(
        service=service,
        nonce=f"cockpit-nonce-{n}",
        signed_at=at or timezone.now(),
        received_at=at or timezone.now(),
        raw_body=b"{}",
        dedupe_key=f"cockpit-key-{n}",
        trigger=fields.pop("trigger", "MESSAGE_INBOUND"),
        **fields,
    )


def unrouted(service: MessagingService, address: str, *, at: datetime | None = None) -> Callback:
    """A customer's message that reached no queue, as processing records it."""
    return callback(
        service,
        at=at,
        status="failed",
        reason_code="no_queue",
        status_reason=f"no queue for address {address}",
    )


def delivery(
    integration: Integration, contact: Contact, *, at: datetime | None = None, **fields: Any
) -> Delivery:
    """One delivery attempt created at `at`, with the given status and duration."""
    event = ContactEvent.objects.filter(contact=contact).first()
    assert event is not None
    return Delivery.objects.create(
        integration=integration,
        contact=contact,
        contact_event=event,
        event=event.event,
        mode="background",
        created_at=at or timezone.now(),
        **fields,
    )


def contact_event(contact: Contact, event: str, *, at: datetime) -> ContactEvent:
    """A lifecycle event of `contact` recorded at `at`."""
    return ContactEvent.objects.create(contact=contact, event=event, occurred_at=at)
