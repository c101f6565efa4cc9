"""Admin pages: System Management > Event-Driven Integrations (the list and the page).

The forms are in `admin/forms.py`; the pages and actions of its own (copy, Disable / Enable /
Resume, test, resend) in `admin/views.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from configurator.audit_admin import AuditHistoryMixin
from configurator.save_warnings import warn
from conversations.choices import Event
from integrations import selectors, services
from integrations.admin import versions, views
from integrations.admin.forms import AuthenticationForm, AuthenticationFormSet, IntegrationForm
from integrations.choices import (
    CONVERSATION_TYPE_LABELS,
    SUPPORTED_EVENTS,
    IntegrationChannelType,
)
from integrations.models import Integration, IntegrationAuthentication
from integrations.presets import PRESETS
from queues.choices import CALLS_CONFIGURATION_ONLY

# Warnings a row of the list shows before "N more" (a row can have one per event and queue).
WARNINGS_SHOWN = 3

# What the list's rows share, set once per changelist request: the warnings of the whole list
# and the queue/agent lookups of the problem checks (ContextVars because one ModelAdmin serves
# concurrent requests).
_list_warnings: ContextVar[dict[int, list[str]] | None] = ContextVar("_list_warnings", default=None)
_list_references: ContextVar[selectors.DatabaseReferences | None] = ContextVar(
    "_list_references", default=None
)


# Where save_related leaves the saved integration for its save-time warnings (_warn_saved).
SAVED_ATTRIBUTE = "_integration_saved"


class AuthenticationInline(admin.TabularInline[IntegrationAuthentication, Integration]):
    """The Authentication block (seed 003, table 2)."""

    model = IntegrationAuthentication
    form = AuthenticationForm
    formset = AuthenticationFormSet
    extra = 0
    verbose_name = _("authentication")
    verbose_name_plural = _("Authentication")
    fields = ["authentication_id", "secret"]


class HealthFilter(admin.SimpleListFilter):
    """Integrations paused after too many failures in a row, or failing now and not paused yet
    (the home page's figures link here)."""

    title = _("health")
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("paused", str(_("Paused"))), ("failing", str(_("Failing, not paused")))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "paused":
            return queryset.filter(paused_at__isnull=False)
        if self.value() == "failing":
            return queryset.filter(paused_at__isnull=True, consecutive_failures__gt=0)
        return queryset


@admin.register(Integration)
class IntegrationAdmin(AuditHistoryMixin, admin.ModelAdmin[Integration]):
    """Event-driven integrations, with copy, Disable / Enable / Resume and warnings in the list."""

    # Its authentication entries' changes (a new secret) are part of its history.
    history_parts = ("authentications",)

    form = IntegrationForm
    inlines = [AuthenticationInline]
    change_form_template = "admin/integrations/integration/change_form.html"
    list_display = [
        "name",
        "conversations",
        "event_list",
        "scope",
        "state",
        "ordinal",
        "notes",
    ]
    list_filter = ["channel_type", "direction", "enabled", HealthFilter]
    search_fields = ["name", "description", "endpoint_url"]
    actions = ["copy_selected", "disable_selected", "enable_selected", "resume_selected"]
    readonly_fields = ["event_support"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "channel_type",
                    "name",
                    "description",
                    "endpoint_url",
                    "ordinal",
                    "direction",
                ]
            },
        ),
        (_("Events"), {"fields": ["events", "event_support"]}),
        (
            _("Conversations"),
            {
                "fields": ["direct_chats", "direct_calls", "queues"],
                "description": _(
                    "Direct conversations, and the queues the integration is used in."
                ),
            },
        ),
        (_("JSON for configuration"), {"fields": ["configuration"]}),
    ]

    class Media:
        js = ["integrations/admin/integration.js"]
        css = {"all": ["integrations/admin/integration.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Integration]:
        return selectors.integration_list()

    # --- the list ---------------------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        # The warnings compare the whole list; the problem checks of every row read what
        # the rows' `set`s name from lookups made once (a page is a part of the same list).
        integrations = list(selectors.integration_list())
        _list_warnings.set(selectors.firing_warnings(integrations))
        _list_references.set(selectors.integration_list_references(integrations))
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("conversations"), ordering="channel_type")
    def conversations(self, obj: Integration) -> str:
        """Channel type and direction in one column, so that the warnings fit beside them."""
        return f"{obj.get_channel_type_display()} · {obj.get_direction_display()}"

    @admin.display(description=_("events"))
    def event_list(self, obj: Integration) -> str:
        return ", ".join(str(Event(e).label) for e in obj.events) or "—"

    @admin.display(description=_("scope"))
    def scope(self, obj: Integration) -> str:
        parts = [q.name for q in obj.queues.all()]
        if obj.direct_chats:
            parts.append(str(_("direct chats")))
        if obj.direct_calls:
            parts.append(str(_("direct calls")))
        return ", ".join(parts) or str(_("no conversations"))

    @admin.display(description=_("state"))
    def state(self, obj: Integration) -> str:
        """Enabled or disabled, and paused: each is lifted by its own action."""
        enabled = _("enabled") if obj.enabled else _("disabled")
        return f"{enabled}, {_('paused')}" if obj.paused_at else str(enabled)

    @admin.display(description=_("warnings"))
    def notes(self, obj: Integration) -> SafeString:
        notes = [
            *(
                [
                    _("Paused since %(when)s: %(why)s")
                    % {"when": views.when(obj.paused_at), "why": obj.paused_reason}
                ]
                if obj.paused_at
                else []
            ),
            *selectors.integration_problems(obj, references=_list_references.get()),
            *(_list_warnings.get() or {}).get(obj.pk, []),
        ]
        shown = format_html_join(
            "", '<div class="integration-warning">{}</div>', ((n,) for n in notes[:WARNINGS_SHOWN])
        )
        if len(notes) <= WARNINGS_SHOWN:
            return shown
        # The rest one click away (no script needed), so that a row stays a few lines high.
        return format_html(
            "{}<details><summary>{}</summary>{}</details>",
            shown,
            _("%(count)d more") % {"count": len(notes) - WARNINGS_SHOWN},
            format_html_join(
                "",
                '<div class="integration-warning">{}</div>',
                ((n,) for n in notes[WARNINGS_SHOWN:]),
            ),
        )

    # --- the page ---------------------------------------------------------------------------

    @admin.display(description=_("Events each conversation type produces"))
    def event_support(self, obj: Integration | None) -> SafeString:
        kinds = list(CONVERSATION_TYPE_LABELS)
        head = format_html_join("", "<th>{}</th>", ((CONVERSATION_TYPE_LABELS[k],) for k in kinds))
        rows = format_html_join(
            "",
            "<tr><th>{}</th>{}</tr>",
            (
                (
                    label,
                    format_html_join(
                        "",
                        "<td>{}</td>",
                        (("✓" if event in SUPPORTED_EVENTS[k] else "—",) for k in kinds),
                    ),
                )
                for event, label in Event.choices
            ),
        )
        return format_html(
            '<table class="event-support"><thead><tr><th></th>{}</tr></thead>'
            '<tbody>{}</tbody></table><p class="calls-note">{}</p>',
            head,
            rows,
            CALLS_CONFIGURATION_ONLY,
        )

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "GET" and request.GET.get("channel_type") not in dict(
            IntegrationChannelType.choices
        ):
            # Contact Pro asks for the channel type first: it decides queues and events.
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Add event-driven integration"),
                "channel_types": IntegrationChannelType.choices,
                "calls_note": CALLS_CONFIGURATION_ONLY,
            }
            return TemplateResponse(
                request, "admin/integrations/integration/choose_channel_type.html", context
            )
        response = super().add_view(request, form_url, self._page_context(extra_context))
        self._warn_saved(request)
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "GET":
            integration = self.get_object(request, object_id)
            if integration is not None:
                for problem in selectors.integration_problems(integration):
                    messages.warning(request, problem)
        response = super().change_view(
            request, object_id, form_url, self._page_context(extra_context)
        )
        self._warn_saved(request)
        return response

    def _warn_saved(self, request: HttpRequest) -> None:
        """Save-time warnings, once the save's transaction has ended: the endpoint check may
        resolve its host name (up to RESOLVE_SECONDS), which holds no transaction open."""
        saved = getattr(request, SAVED_ATTRIBUTE, None)
        if saved is not None:
            warn(request, selectors.save_warnings(saved))

    def _page_context(self, extra_context: dict[str, Any] | None) -> dict[str, Any]:
        return {**(extra_context or {}), "presets": [p.as_json() for p in PRESETS]}

    def save_model(self, request: HttpRequest, obj: Integration, form: Any, change: bool) -> None:
        """Saved in `save_related`, with its queues and authentications: one save, one version."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        block = next(
            (f for f in formsets if isinstance(f, AuthenticationFormSet) and f.result is not None),
            None,
        )
        saved = services.integration_save_with_changes(
            integration=form.instance,
            queues=form.cleaned_data.get("queues") or [],
            authentications=block.result.entries if block and block.result else None,
        )
        for formset in formsets:
            if formset is block and saved.authentications is not None:
                saved.authentications.record_on(formset)
            else:
                formset.save()
        for notice in form.notices:
            messages.info(request, notice)
        if not saved.integration.enabled:
            messages.info(
                request,
                _("“%(name)s” is disabled: it does not fire until it is enabled.")
                % {"name": saved.integration.name},
            )
        setattr(request, SAVED_ATTRIBUTE, saved.integration)

    # --- copy, disable, enable, resume, test, resend ------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        own: dict[str, Callable[..., HttpResponse]] = {
            "copy": views.copy_view,
            **{name: partial(views.switch_view, action=name) for name in views.SWITCHES},
            "test": views.test_view,
            "resend": views.resend_view,
        }
        pages: dict[str, tuple[str, Callable[..., HttpResponse]]] = {
            "versions": ("versions/", versions.versions_view),
            "versions_compare": ("versions/compare/", versions.versions_compare_view),
            "version": ("versions/<int:number>/", versions.version_view),
            "version_restore": ("versions/<int:number>/restore/", versions.version_restore_view),
            **{name: (f"{name}/", view) for name, view in own.items()},
        }
        return [
            path(
                f"<path:object_id>/{route}",
                self.admin_site.admin_view(partial(view, self)),
                name=f"integrations_integration_{name}",
            )
            for name, (route, view) in pages.items()
        ] + super().get_urls()

    @admin.action(description=_("Copy selected integrations"), permissions=["add"])
    def copy_selected(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        views.copies_announce(request, [services.integration_copy(integration=i) for i in queryset])

    @admin.action(description=_("Disable selected integrations"), permissions=["change"])
    def disable_selected(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        views.switch_apply(request, list(queryset), action="disable")

    @admin.action(description=_("Enable selected integrations"), permissions=["change"])
    def enable_selected(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        views.switch_apply(request, list(queryset), action="enable")

    @admin.action(description=_("Resume selected paused integrations"), permissions=["change"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        views.switch_apply(request, list(queryset), action="resume")
