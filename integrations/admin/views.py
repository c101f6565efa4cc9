"""The integration admin's own pages and actions: copy, Disable / Enable / Resume, test, resend.

Each view parses the request, calls one service and presents what it did; `IntegrationAdmin`
routes to them (`get_urls`) and runs the same switches as list actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from configurator import times
from integrations import dispatch, selectors, services
from integrations.admin.forms import ResendForm, TestRunForm
from integrations.models import Integration
from integrations.testrun import integration_test_run

if TYPE_CHECKING:
    from integrations.admin.integration import IntegrationAdmin


@dataclass(frozen=True)
class Switch:
    """One of Disable, Enable, Resume: its service and what the administrator is told."""

    service: Callable[..., bool]
    changed: Promise
    unchanged: Promise


SWITCHES: dict[str, Switch] = {
    "disable": Switch(
        services.integration_disable,
        _("“%(name)s” disabled: it does not fire; its events are kept for Enable."),
        _("“%(name)s” was already disabled."),
    ),
    "enable": Switch(
        services.integration_enable,
        _("“%(name)s” enabled: it fires on its events (a pause is lifted too)."),
        _("“%(name)s” was already enabled."),
    ),
    "resume": Switch(
        services.integration_resume,
        _("“%(name)s” resumed: the pause is lifted and its failures count from zero."),
        _("“%(name)s” was not paused."),
    ),
}


def switch_apply(request: HttpRequest, integrations: list[Integration], *, action: str) -> None:
    """Run one switch on each integration, telling what changed or why it was refused."""
    switch = SWITCHES[action]
    for integration in integrations:
        try:
            changed = switch.service(integration=integration)
        except ValidationError as exc:
            for problem in exc.messages:
                messages.error(request, problem)
            continue
        text = switch.changed if changed else switch.unchanged
        messages.success(request, text % {"name": integration.name})


def copies_announce(request: HttpRequest, copies: list[Integration]) -> None:
    for copy in copies:
        messages.success(
            request,
            _(
                "Copied as “%(name)s”, without authentications and disabled: add its "
                "authentications, then Enable it."
            )
            % {"name": copy.name},
        )


def integration_for(
    model_admin: IntegrationAdmin, request: HttpRequest, object_id: str, *, adding: bool
) -> Integration:
    """The integration a page acts on, when the user may add (copy) or change it."""
    if not object_id.isdigit():
        raise Http404(_("No integration has this ID."))
    integration = get_object_or_404(selectors.integration_list(), pk=object_id)
    allowed = (
        model_admin.has_add_permission(request)
        if adding
        else model_admin.has_change_permission(request, integration)
    )
    if not allowed:
        raise PermissionDenied
    return integration


def copy_view(model_admin: IntegrationAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Copy from the integration's page (POST); opens the copy."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    copy = services.integration_copy(
        integration=integration_for(model_admin, request, object_id, adding=True)
    )
    copies_announce(request, [copy])
    return _change_page(copy)


def switch_view(
    model_admin: IntegrationAdmin, request: HttpRequest, object_id: str, *, action: str
) -> HttpResponse:
    """Disable, Enable or Resume from the integration's page (POST)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    integration = integration_for(model_admin, request, object_id, adding=False)
    switch_apply(request, [integration], action=action)
    return _change_page(integration)


def test_view(model_admin: IntegrationAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Pick an event and a contact (or a sample), dry or live; shows each step."""
    integration = integration_for(model_admin, request, object_id, adding=False)
    form = TestRunForm(request.POST or None, integration=integration)
    run = None
    if request.method == "POST" and form.is_valid():
        try:
            run = integration_test_run(
                integration=integration,
                event=form.cleaned_data["event"],
                contact=form.cleaned_data["contact"],
                live=form.cleaned_data["live"],
                user=request.user,
                sample=form.cleaned_data["sample"],
            )
        except PermissionDenied as exc:
            form.add_error("contact", str(exc))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "original": integration,
        "title": _("Test “%(name)s”") % {"name": integration.name},
        "form": form,
        "run": run,
    }
    return TemplateResponse(request, "admin/integrations/integration/test_run.html", context)


def resend_view(
    model_admin: IntegrationAdmin, request: HttpRequest, object_id: str
) -> HttpResponse:
    """Send again every failed background delivery since a time (POST), then show the log."""
    integration = integration_for(model_admin, request, object_id, adding=False)
    form = ResendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        resent = dispatch.deliveries_resend(
            selection=integration.deliveries.filter(created_at__gte=form.cleaned_data["since"])
        )
        messages.success(
            request,
            _("%(count)s failed delivery(ies) since %(since)s will be sent again.")
            % {"count": len(resent.scheduled), "since": when(form.cleaned_data["since"])},
        )
        if resent.more:
            messages.info(
                request,
                _("The others since then are sent again in the background, %(batch)s at a time.")
                % {"batch": dispatch.RESEND_BATCH},
            )
        return HttpResponseRedirect(
            reverse("admin:integrations_delivery_changelist")
            + f"?integration__id__exact={integration.pk}"
        )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "original": integration,
        "title": _("Send failed deliveries of “%(name)s” again") % {"name": integration.name},
        "form": form,
    }
    return TemplateResponse(request, "admin/integrations/integration/resend.html", context)


def when(value: datetime | None) -> str:
    """A moment as the admin pages show it (local time, to the second, with the zone)."""
    return times.moment(value)


def _change_page(integration: Integration) -> HttpResponseRedirect:
    return HttpResponseRedirect(
        reverse("admin:integrations_integration_change", args=[integration.pk])
    )
