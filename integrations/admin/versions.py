"""The integration's versions in the admin: the list, the diff of two, and restore (POST).

Reading needs the permission to view the integration, restoring the permission to change it;
`services.integration_version_restore` does the restore with the checks of a save.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integrations import selectors, services, versions
from integrations.models import Integration, IntegrationVersion

if TYPE_CHECKING:
    from integrations.admin.integration import IntegrationAdmin

VERSIONS_PER_PAGE = 50


def _integration(
    model_admin: IntegrationAdmin, request: HttpRequest, object_id: str, *, change: bool
) -> Integration:
    # get_object: an ID that is no integration's (`abc`) is a 404, not a ValueError.
    integration = model_admin.get_object(request, unquote(object_id))
    if integration is None:
        raise Http404(gettext("No integration with this ID."))
    allowed = (
        model_admin.has_change_permission(request, integration)
        if change
        else model_admin.has_view_permission(request, integration)
    )
    if not allowed:
        raise PermissionDenied
    return integration


def _context(
    model_admin: IntegrationAdmin, request: HttpRequest, integration: Integration, **extra: Any
) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "original": integration,
        "can_restore": model_admin.has_change_permission(request, integration),
        **extra,
    }


def versions_view(
    model_admin: IntegrationAdmin, request: HttpRequest, object_id: str
) -> HttpResponse:
    """Every version, newest first: when, who, through what, what changed; choose two."""
    integration = _integration(model_admin, request, object_id, change=False)
    page = Paginator(selectors.integration_versions(integration), VERSIONS_PER_PAGE).get_page(
        request.GET.get("p")
    )
    rows = [
        (
            version,
            versions.summary(
                changed=version.changed,
                first=version.number == 1,
                restored_from=version.restored_from,
            ),
        )
        for version in page
    ]
    newest = rows[0][0].number if rows else 0
    context = _context(
        model_admin,
        request,
        integration,
        title=_("Versions of “%(name)s”") % {"name": integration.name},
        page=page,
        rows=rows,
        compare_from=max(newest - 1, 1),
        compare_to=newest,
    )
    return TemplateResponse(request, "admin/integrations/integration/versions.html", context)


def version_view(
    model_admin: IntegrationAdmin, request: HttpRequest, object_id: str, number: int
) -> HttpResponse:
    """One version, and how it differs from another (`?compare=`; the one before by default)."""
    integration = _integration(model_admin, request, object_id, change=False)
    compare = _number(request.GET.get("compare"), default=number - 1)
    return _diff_page(model_admin, request, integration, before=compare, after=number)


def versions_compare_view(
    model_admin: IntegrationAdmin, request: HttpRequest, object_id: str
) -> HttpResponse:
    """The diff of two versions chosen in the list (`?from=&to=`)."""
    integration = _integration(model_admin, request, object_id, change=False)
    before = _number(request.GET.get("from"), default=0)
    after = _number(request.GET.get("to"), default=0)
    if before > after:
        before, after = after, before
    return _diff_page(model_admin, request, integration, before=before, after=after)


def _number(value: str | None, *, default: int) -> int:
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) <= 9 else default


def _diff_page(
    model_admin: IntegrationAdmin,
    request: HttpRequest,
    integration: Integration,
    *,
    before: int,
    after: int,
) -> HttpResponse:
    found = selectors.integration_versions_by_number(integration, {before, after})
    version = found.get(after)
    if version is None:
        raise Http404(_("This integration has no version %(number)d.") % {"number": after})
    other: IntegrationVersion | None = found.get(before) if before != after else None
    diff = (
        versions.versions_diff(
            before=before,
            before_snapshot=other.snapshot,
            after=after,
            after_snapshot=version.snapshot,
        )
        if other is not None
        else None
    )
    context = _context(
        model_admin,
        request,
        integration,
        title=_("Version %(number)d of “%(name)s”") % {"number": after, "name": integration.name},
        version=version,
        other=other,
        diff=diff,
        diff_rows=[
            (
                change.label,
                versions.shown(change.name, change.before),
                versions.shown(change.name, change.after),
            )
            for change in (diff.fields if diff else [])
        ],
        configuration_lines=[_line(text) for text in (diff.configuration if diff else [])],
        fields=[
            (label, versions.shown(name, version.snapshot.get(name)))
            for name, label in versions.SNAPSHOT_FIELDS.items()
            if name != "configuration"
        ],
        configuration=versions.configuration_text(version.snapshot.get("configuration")),
    )
    return TemplateResponse(request, "admin/integrations/integration/version.html", context)


def _line(text: str) -> tuple[str, str]:
    """A diff line and its class: added, removed, a hunk header, or context."""
    kind = {"+": "diff-added", "-": "diff-removed", "@": "diff-hunk"}.get(text[:1], "diff-same")
    return kind, text


def version_restore_view(
    model_admin: IntegrationAdmin, request: HttpRequest, object_id: str, number: int
) -> HttpResponse:
    """Asks first (GET); restores on POST, or says why the version no longer passes the checks."""
    integration = _integration(model_admin, request, object_id, change=True)
    found = selectors.integration_versions_by_number(integration, {number})
    if number not in found:
        raise Http404(_("This integration has no version %(number)d.") % {"number": number})
    problems: list[str] = []
    if request.method == "POST":
        try:
            saved = services.integration_version_restore(integration=integration, number=number)
        except ValidationError as exc:
            problems = _problems(exc)
        else:
            if saved.version is None:
                messages.info(
                    request,
                    _("“%(name)s” already is what version %(number)d was: nothing changed.")
                    % {"name": integration.name, "number": number},
                )
            else:
                messages.success(
                    request,
                    _("Version %(number)d of “%(name)s” restored, as version %(new)d.")
                    % {"name": integration.name, "number": number, "new": saved.version.number},
                )
            return HttpResponseRedirect(
                reverse("admin:integrations_integration_change", args=[integration.pk])
            )
    context = _context(
        model_admin,
        request,
        integration,
        title=_("Restore version %(number)d of “%(name)s”")
        % {"number": number, "name": integration.name},
        version=found[number],
        problems=problems,
    )
    return TemplateResponse(request, "admin/integrations/integration/version_restore.html", context)


def _problems(exc: ValidationError) -> list[str]:
    """Each reason as "field: why", in the words of the integration's page."""
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    labels = versions.SNAPSHOT_FIELDS
    return [
        f"{str(labels.get(name, name)).capitalize()}: {message}" if name in labels else message
        for name, errors in exc.message_dict.items()
        for message in errors
    ]
