"""Which delivery records are old enough to go (configurator.retention)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from configurator import retention
from conversations import retention as conversations_retention
from integrations.choices import DeliveryStatus
from integrations.models import Delivery

# Pending, sending and retrying deliveries are work not done yet: no rule ever selects them.
DONE = [DeliveryStatus.SUCCEEDED, DeliveryStatus.SKIPPED]

# Failed deliveries (and failed callbacks) stay as long as the longer of the two periods, so
# that a person can still send them again.
FAILED_DAYS = retention.setting_days("DELIVERIES_RETENTION_DAYS", "CALLBACKS_RETENTION_DAYS")


def deliveries_done_due(before: datetime, limit: int | None) -> QuerySet[Delivery]:
    """Succeeded and skipped deliveries created before the cutoff (integrations_dlv_status)."""
    return Delivery.objects.filter(status__in=DONE, created_at__lt=before).order_by()


def deliveries_failed_due(before: datetime, limit: int | None) -> QuerySet[Delivery]:
    """Failed deliveries created before the cutoff (index integrations_dlv_status)."""
    return Delivery.objects.filter(status=DeliveryStatus.FAILED, created_at__lt=before).order_by()


def rules() -> list[retention.Rule]:
    """Deliveries: done ones after DELIVERIES_RETENTION_DAYS, failed ones after the longer period.

    A delivery that repeats a pruned one loses its `previous` link (SET_NULL); the delivery
    records keep a contact's events (conversations.retention holds them) until they are gone.
    """
    return [
        retention.Rule(
            table=_("deliveries"),
            model=Delivery,
            days=retention.setting_days("DELIVERIES_RETENTION_DAYS"),
            due=deliveries_done_due,
        ),
        retention.Rule(
            table=_("deliveries"),
            model=Delivery,
            days=FAILED_DAYS,
            due=deliveries_failed_due,
            subset=_("failed ones"),
        ),
    ]


def contact_hold() -> conversations_retention.ContactHold:
    """Deliveries refer to contact events: a contact's events stay while it has deliveries.

    Its period lengthens the events' to DELIVERIES_RETENTION_DAYS, after which a contact's
    deliveries are gone but for failed ones kept longer (or ones sent again after its end):
    only those contacts are passed over while their deliveries last.
    """
    return conversations_retention.ContactHold(
        model=Delivery, days=retention.setting_days("DELIVERIES_RETENTION_DAYS")
    )
