"""Reads of the messaging app, with the joins their callers need."""

from __future__ import annotations

import re
from collections.abc import Collection

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from configurator import housekeeping
from conversations.models import Contact
from messaging.choices import AuthenticationDirection, CallbackStatus
from messaging.models import Callback, DoctorRun, MessagingService, ServiceAuthentication
from queues.models import Queue
from queues.validation import SinchApp


def messaging_service_list() -> QuerySet[MessagingService]:
    """Services with their authentications, in two queries whatever the count."""
    return MessagingService.objects.prefetch_related(
        Prefetch(
            "authentications", queryset=ServiceAuthentication.objects.order_by("-direction", "id")
        )
    )


def app_owners(app_ids: Collection[str], *, exclude_service_id: int | None) -> dict[str, str]:
    """Names of the messaging services (other than the excluded one) holding these apps."""
    rows = ServiceAuthentication.objects.filter(
        direction=AuthenticationDirection.OUTBOUND, app_id__in=list(app_ids)
    )
    if exclude_service_id is not None:
        rows = rows.exclude(service_id=exclude_service_id)
    return dict(rows.values_list("app_id", "service__name"))


def service_app_ids(service_id: int | None) -> set[str]:
    """The apps a stored service holds (its outbound entries); none for an unsaved one."""
    if service_id is None:
        return set()
    return set(
        ServiceAuthentication.objects.filter(
            service_id=service_id, direction=AuthenticationDirection.OUTBOUND
        ).values_list("app_id", flat=True)
    )


def held_app_ids() -> set[str]:
    """Every app some messaging service holds (their outbound entries)."""
    return set(
        ServiceAuthentication.objects.filter(
            direction=AuthenticationDirection.OUTBOUND
        ).values_list("app_id", flat=True)
    )


# Queues named per app in a warning; the rest are counted.
STRANDED_QUEUES_NAMED = 5


def stranded_queue_warnings(
    app_ids: Collection[str], *, leaving_service_id: int | None = None
) -> list[str]:
    """For each of `app_ids` that no messaging service holds, the queues addressed to it.

    After a change removed an app (an outbound entry, or a whole service), or before deleting
    the service `leaving_service_id` (whose apps then count as held by none): messages to those
    queues' addresses are ignored and their conversations cannot be answered. The caller passes
    the apps the change removes, so that older problems are not blamed on it.
    """
    if not app_ids:
        return []
    holders = ServiceAuthentication.objects.filter(
        direction=AuthenticationDirection.OUTBOUND, app_id__in=list(app_ids)
    )
    if leaving_service_id is not None:
        holders = holders.exclude(service_id=leaving_service_id)
    held = set(holders.values_list("app_id", flat=True))
    warnings = []
    for app_id in sorted(set(app_ids) - held):
        queues = Queue.objects.filter(addresses__app_id=app_id).distinct().order_by("name")
        names = list(queues.values_list("name", flat=True)[: STRANDED_QUEUES_NAMED + 1])
        if not names:
            continue
        shown = ", ".join(f"“{name}”" for name in names[:STRANDED_QUEUES_NAMED])
        if len(names) > STRANDED_QUEUES_NAMED:
            shown += _(" and %(count)s more") % {"count": queues.count() - STRANDED_QUEUES_NAMED}
        warnings.append(
            _(
                "After this change app %(app)s is in no messaging service, but queue(s) "
                "%(queues)s are addressed to it: messages to them are ignored and their "
                "conversations cannot be answered. Add the app's outbound entry "
                "(KEYID@%(app)s) to a messaging service, or change those queues' addresses."
            )
            % {"app": app_id, "queues": shown}
        )
    return warnings


def service_delete_problems(service: MessagingService) -> list[str]:
    """Why deleting the service would strand what stays (empty: nothing would).

    Queues addressed to its apps would receive nothing and could not answer, and open
    conversations on its apps could not be answered: an import's prune keeps such a service
    and says why (the admin's and the API's delete warn with `stranded_queue_warnings`).
    """
    apps = service_app_ids(service.pk)
    problems = stranded_queue_warnings(apps, leaving_service_id=service.pk)
    held_elsewhere = set(app_owners(apps, exclude_service_id=service.pk))
    open_count = Contact.objects.filter(
        sinch_app_id__in=sorted(apps - held_elsewhere), ended_at__isnull=True
    ).count()
    if open_count:
        problems.append(
            _(
                "%(count)s open conversation(s) are on its apps: they could not be answered. "
                "End them first."
            )
            % {"count": open_count}
        )
    return problems


def sinch_apps(app_ids: Collection[str]) -> dict[str, SinchApp]:
    """The apps among `app_ids` that have outbound credentials, with their service's region."""
    rows = ServiceAuthentication.objects.filter(
        direction=AuthenticationDirection.OUTBOUND, app_id__in=list(app_ids)
    ).values_list("app_id", "service__region")
    return {app: SinchApp(app_id=app, region=region) for app, region in rows}


def outbound_authentication(app_id: str) -> ServiceAuthentication | None:
    """The outbound credentials of an app, with their messaging service."""
    return (
        ServiceAuthentication.objects.filter(
            direction=AuthenticationDirection.OUTBOUND, app_id=app_id
        )
        .select_related("service")
        .first()
    )


def app_region(app_id: str) -> str:
    """The region (`eu`, `us`, `br`) of the messaging service holding an app; "" when none does."""
    region = (
        ServiceAuthentication.objects.filter(
            direction=AuthenticationDirection.OUTBOUND, app_id=app_id.upper()
        )
        .values_list("service__region", flat=True)
        .first()
    )
    return region or ""


def inbound_authentication(service_id: int) -> ServiceAuthentication | None:
    """The webhook entry of a service, or None when the service or its entry does not exist."""
    if not 0 < service_id < 2**63:  # no database key is that large (SQLite would overflow)
        return None
    return (
        ServiceAuthentication.objects.filter(
            service_id=service_id, direction=AuthenticationDirection.INBOUND
        )
        .select_related("service")
        .first()
    )


def callback_list() -> QuerySet[Callback]:
    """Callbacks with their service (one query per page)."""
    return Callback.objects.select_related("service")


def webhook_url(service_id: int, request: HttpRequest | None = None) -> str:
    """The address to paste into the Sinch dashboard for this service's webhook."""
    path = reverse("sinch-webhook", kwargs={"service_id": service_id})
    if settings.PUBLIC_BASE_URL:
        return str(settings.PUBLIC_BASE_URL).rstrip("/") + path
    if request is not None:
        return request.build_absolute_uri(path)
    return path


def callbacks_held(
    *, service_ids: Collection[int], dedupe_keys: Collection[str], excluding: Collection[int]
) -> QuerySet[Callback]:
    """Pending callbacks with these keys that a worker holds with a live claim, but `excluding`.

    A Sinch retry of a notification one of these is being processed for must wait for it.
    """
    return (
        Callback.objects.filter(
            service_id__in=service_ids,
            dedupe_key__in=dedupe_keys,
            status=CallbackStatus.PENDING,
            claimed_at__gte=housekeeping.lease_cutoff(),
        )
        .exclude(pk__in=excluding)
        .exclude(claimed_by="")
    )


def doctor_runs(service_id: int) -> QuerySet[DoctorRun]:
    """A service's setup-doctor runs, newest first (messaging_doctor_service serves it)."""
    return DoctorRun.objects.filter(service_id=service_id).order_by("-ran_at", "-id")


# What processing says of a customer's message whose address reaches no queue
# (webhooks.handlers.handle_message_inbound): "no queue for address APPID@<subchannel>...",
# followed by "; <note>" when a worker took the callback over (processing._mark).
_UNROUTED_ADDRESS = re.compile(r"^no queue for address ([^\s;]+)")


def unrouted_address(status_reason: str) -> str:
    """The queue address an unrouted callback's reason names; else the reason itself, without a
    take-over's note (a channel with no chat subchannel names no address a queue could hold)."""
    match = _UNROUTED_ADDRESS.match(status_reason)
    return match.group(1) if match else status_reason.split("; ", 1)[0]
