"""Reads of the messaging app, with the joins their callers need."""

from __future__ import annotations

import re
from collections.abc import Collection

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.urls import reverse

from configurator import housekeeping
from messaging.choices import AuthenticationDirection, CallbackStatus
from messaging.models import Callback, MessagingService, ServiceAuthentication
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


def inbound_authentication(service_id: int) -> ServiceAuthentication | None:
    """The webhook entry of a service, or None when the service or its entry does not exist."""
    if not 0 < service_id < 2**63:  # no database key is that large (SQLite would overflow)
        return None
    return ServiceAuthentication.objects.filter(
        service_id=service_id, direction=AuthenticationDirection.INBOUND
    ).first()


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


# What processing says of a customer's message whose address reaches no queue
# (webhooks.handlers.handle_message_inbound): "no queue for address APPID@<subchannel>...",
# followed by "; <note>" when a worker took the callback over (processing._mark).
_UNROUTED_ADDRESS = re.compile(r"^no queue for address ([^\s;]+)")


def unrouted_address(status_reason: str) -> str:
    """The queue address an unrouted callback's reason names; else the reason itself, without a
    take-over's note (a channel with no chat subchannel names no address a queue could hold)."""
    match = _UNROUTED_ADDRESS.match(status_reason)
    return match.group(1) if match else status_reason.split("; ", 1)[0]
