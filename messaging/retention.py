"""Which stored callbacks are old enough to go (configurator.retention)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from configurator import retention
from messaging.choices import CallbackStatus
from messaging.models import Callback, DoctorRun

# Pending callbacks are work not done yet: no rule ever selects them.
DONE = [CallbackStatus.PROCESSED, CallbackStatus.IGNORED]


def nonce_window() -> timedelta:
    """How long a stored callback must stay to prove that its nonce was used.

    A signature is accepted while its timestamp is within the tolerance of now, and a callback
    may have been signed up to the tolerance after it was received: past twice the tolerance a
    replay of the same nonce is refused by its timestamp alone, so the row may go.
    """
    return timedelta(seconds=2 * int(settings.SINCH_WEBHOOK_TOLERANCE))


def callbacks_done_due(before: datetime, limit: int | None) -> QuerySet[Callback]:
    """Processed and ignored callbacks received before the cutoff (index messaging_cb_status)."""
    return Callback.objects.filter(status__in=DONE, received_at__lt=before).order_by()


def callbacks_failed_due(before: datetime, limit: int | None) -> QuerySet[Callback]:
    """Failed callbacks received before the cutoff (index messaging_cb_status)."""
    return Callback.objects.filter(status=CallbackStatus.FAILED, received_at__lt=before).order_by()


def doctor_runs_due(before: datetime, limit: int | None) -> QuerySet[DoctorRun]:
    """Setup-doctor runs from before the cutoff that a later run of their service replaced:
    each service's last run stays, whatever its age (the home page's checklist reads it)."""
    later = DoctorRun.objects.filter(service=OuterRef("service"), ran_at__gt=OuterRef("ran_at"))
    return DoctorRun.objects.filter(ran_at__lt=before).filter(Exists(later)).order_by()


def rules() -> list[retention.Rule]:
    """Callbacks: done ones after CALLBACKS_RETENTION_DAYS, failed ones after the longer period;
    setup-doctor runs after CALLBACKS_RETENTION_DAYS, but each service's last one."""
    return [
        retention.Rule(
            table=_("callbacks received"),
            model=Callback,
            days=retention.setting_days("CALLBACKS_RETENTION_DAYS"),
            due=callbacks_done_due,
            minimum_age=nonce_window,
        ),
        retention.Rule(
            table=_("callbacks received"),
            model=Callback,
            days=retention.setting_days("CALLBACKS_RETENTION_DAYS", "DELIVERIES_RETENTION_DAYS"),
            due=callbacks_failed_due,
            subset=_("failed ones"),
            minimum_age=nonce_window,
        ),
        retention.Rule(
            table=_("setup doctor runs"),
            model=DoctorRun,
            days=retention.setting_days("CALLBACKS_RETENTION_DAYS"),
            due=doctor_runs_due,
        ),
    ]
