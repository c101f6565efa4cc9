"""Admin pages: System Management > Event-Driven Integrations."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms.fields import InvalidJSONInput
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from configurator.credentials import CredentialForm, CredentialFormSet
from conversations.choices import Event
from conversations.models import Contact
from conversations.selectors import contact_detail
from integrations import dispatch, selectors, services
from integrations.choices import (
    CONVERSATION_TYPE_LABELS,
    SUPPORTED_EVENTS,
    IntegrationChannelType,
)
from integrations.credentials import authentications_replace
from integrations.models import Integration, IntegrationAuthentication
from integrations.presets import PRESETS
from integrations.testrun import integration_test_run
from integrations.validation import (
    AUTHENTICATION_BLOCK,
    AuthenticationInput,
    AuthenticationsResult,
    IntegrationInput,
    ScopeQueue,
    clean_authentications,
    clean_integration,
)
from queues.models import Queue

AUTHENTICATIONS_PREFIX = "authentications"
# What the list's rows share, set once per changelist request: the warnings of the whole list
# and the queue/agent lookups of the problem checks (ContextVars because one ModelAdmin serves
# concurrent requests).
_list_warnings: ContextVar[dict[int, list[str]] | None] = ContextVar("_list_warnings", default=None)
_list_references: ContextVar[selectors.DatabaseReferences | None] = ContextVar(
    "_list_references", default=None
)


class ConfigurationField(forms.JSONField):
    """The JSON editor: keeps the administrator's text as typed, pretty-prints what is stored."""

    def to_python(self, value: Any) -> Any:
        if self.disabled or value in self.empty_values:
            return super().to_python(value)
        try:
            return json.loads(value)
        except RecursionError:
            raise ValidationError(_("Not valid JSON: nested too deeply."), code="invalid") from None
        except json.JSONDecodeError as exc:
            raise ValidationError(
                _("Not valid JSON: line %(line)s, column %(column)s: %(problem)s.")
                % {"line": exc.lineno, "column": exc.colno, "problem": exc.msg},
                code="invalid",
            ) from None

    def bound_data(self, data: Any, initial: Any) -> Any:
        if self.disabled or data is None:
            return super().bound_data(data, initial)
        return InvalidJSONInput(data)  # shown back exactly as typed

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, InvalidJSONInput):
            return value
        if value is None:
            return ""  # a new integration starts empty (or from a preset)
        return json.dumps(value, indent=2, ensure_ascii=False)


class QueueChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    """Queues labelled with their channel type."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.get_channel_type_display()})"


class IntegrationForm(forms.ModelForm[Integration]):
    """An integration; every rule is checked by `validation.clean_integration`."""

    events = forms.MultipleChoiceField(
        label=_("Conversation events that trigger this integration"),
        choices=Event.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("No event selected: the integration is disabled."),
    )
    # Chosen by searching: a contact center has thousands of queues. The search labels each
    # with its channel type; a queue of another type is refused with the reason on save.
    queues = QueueChoiceField(
        label=_("Queues"),
        queryset=Queue.objects.order_by("name"),
        required=False,
        widget=AutocompleteSelectMultiple(Integration._meta.get_field("queues"), admin.site),
        help_text=_(
            "Chats: the queues messages arrive to or are sent from (inbound and outbound). "
            "Calls: inbound queue calls."
        ),
    )
    configuration = ConfigurationField(
        label=_("JSON for configuration"),
        # An empty box gets the same sentence as the API from clean_integration.
        required=False,
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "class": "mono json-editor"}),
        help_text=_(
            'request: method (required), authentication {"type": "basic"|"digest"|"oauth"}, '
            "headers, params, body (POST/PUT/PATCH), timeout (s, default 10), condition (CEL), "
            "block. response: set (priority, queue, preferredAgent, requiredAgents), save. "
            "Placeholders such as {event}, {contact.id}, {authentications.api-key}."
        ),
    )

    class Meta:
        model = Integration
        fields = [
            "channel_type",
            "name",
            "description",
            "endpoint_url",
            "ordinal",
            "direction",
            "events",
            "direct_chats",
            "direct_calls",
            "queues",
            "configuration",
        ]
        widgets = {
            "endpoint_url": forms.TextInput(attrs={"class": "vLargeTextField mono", "size": 90}),
            "description": forms.Textarea(attrs={"rows": 2, "cols": 80}),
        }

    notices: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notices = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if any(name in self.errors for name in ("channel_type", "direction", "configuration")):
            return cleaned
        check = clean_integration(
            IntegrationInput(
                channel_type=cleaned["channel_type"],
                direction=cleaned["direction"],
                endpoint_url=cleaned.get("endpoint_url") or "",
                events=cleaned.get("events") or [],
                direct_chats=bool(cleaned.get("direct_chats")),
                direct_calls=bool(cleaned.get("direct_calls")),
                queues=[ScopeQueue(q.name, q.channel_type) for q in cleaned.get("queues") or []],
                authentication_ids=self._authentication_ids(),
                configuration=cleaned.get("configuration"),
            ),
            references=selectors.DatabaseReferences(),
        )
        for name, problems in check.errors.items():
            for problem in problems:
                self.add_error(name if name in self.fields else None, problem)
        self.notices = check.notices
        return cleaned

    def _authentication_ids(self) -> list[str]:
        """The IDs of the authentication rows being submitted with this form."""
        data = self.data
        prefix = AUTHENTICATIONS_PREFIX
        try:
            total = min(int(data.get(f"{prefix}-TOTAL_FORMS") or 0), 1000)
        except ValueError:
            total = 0
        ids = []
        for index in range(total):
            if data.get(f"{prefix}-{index}-DELETE"):
                continue
            value = (data.get(f"{prefix}-{index}-authentication_id") or "").strip()
            if value:
                ids.append(value)
        return ids


class AuthenticationForm(CredentialForm):
    """One authentication entry (the shared secret box)."""

    credential_block = AUTHENTICATION_BLOCK

    class Meta:
        model = IntegrationAuthentication
        fields = ["authentication_id", "secret"]
        widgets = {"authentication_id": forms.TextInput(attrs={"class": "mono", "size": 40})}


class AuthenticationFormSet(CredentialFormSet):
    """Checks the authentication block with the rules the API uses too."""

    result: AuthenticationsResult | None = None

    def clean(self) -> None:
        super().clean()
        forms_in_use = self.forms_in_use()
        if any(f.errors for f in forms_in_use):
            return
        inputs = []
        for form in forms_in_use:
            state = form.secret_state()
            inputs.append(
                AuthenticationInput(
                    authentication_id=form.cleaned_data.get("authentication_id", ""),
                    secret=form.new_secret,
                    has_stored_secret=state.has_stored_secret,
                    replaces=state.replaces,
                )
            )
        self.result = clean_authentications(inputs)
        self.show_errors(forms_in_use, self.result.errors)


class AuthenticationInline(admin.TabularInline[IntegrationAuthentication, Integration]):
    """The Authentication block (seed 003, table 2)."""

    model = IntegrationAuthentication
    form = AuthenticationForm
    formset = AuthenticationFormSet
    extra = 0
    verbose_name = _("authentication")
    verbose_name_plural = _("Authentication")
    fields = ["authentication_id", "secret"]


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin[Integration]):
    """Event-driven integrations, with copy, disable/enable and warnings in the list."""

    form = IntegrationForm
    inlines = [AuthenticationInline]
    change_form_template = "admin/integrations/integration/change_form.html"
    list_display = [
        "name",
        "channel_type",
        "direction",
        "event_list",
        "scope",
        "enabled_mark",
        "ordinal",
        "notes",
    ]
    list_filter = ["channel_type", "direction"]
    search_fields = ["name", "description", "endpoint_url"]
    actions = ["copy_selected", "disable_selected", "enable_selected"]
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

    @admin.display(description=_("events"))
    def event_list(self, obj: Integration) -> str:
        if obj.events:
            return ", ".join(str(Event(e).label) for e in obj.events)
        if obj.disabled_events:
            had = ", ".join(str(Event(e).label) for e in obj.disabled_events)
            return str(_("none (had: %(events)s)") % {"events": had})
        return "—"

    @admin.display(description=_("scope"))
    def scope(self, obj: Integration) -> str:
        parts = [q.name for q in obj.queues.all()]
        if obj.direct_chats:
            parts.append(str(_("direct chats")))
        if obj.direct_calls:
            parts.append(str(_("direct calls")))
        return ", ".join(parts) or str(_("no conversations"))

    @admin.display(description=_("enabled"), boolean=True)
    def enabled_mark(self, obj: Integration) -> bool:
        return obj.enabled

    @admin.display(description=_("warnings"))
    def notes(self, obj: Integration) -> SafeString:
        notes = [
            *(
                [
                    _("Paused since %(when)s: %(why)s")
                    % {"when": _when(obj.paused_at), "why": obj.paused_reason}
                ]
                if obj.paused_at
                else []
            ),
            *selectors.integration_problems(obj, references=_list_references.get()),
            *(_list_warnings.get() or {}).get(obj.pk, []),
        ]
        return format_html_join(
            "", '<div class="integration-warning">{}</div>', ((n,) for n in notes)
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
            "<tbody>{}</tbody></table>",
            head,
            rows,
        )

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "GET" and request.GET.get("channel_type") not in dict(
            IntegrationChannelType.choices
        ):
            # Contact Pro asks for the channel type first: it decides queues and events.
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Add event-driven integration"),
                "channel_types": IntegrationChannelType.choices,
            }
            return TemplateResponse(
                request, "admin/integrations/integration/choose_channel_type.html", context
            )
        return super().add_view(request, form_url, self._page_context(extra_context))

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
        return super().change_view(request, object_id, form_url, self._page_context(extra_context))

    def _page_context(self, extra_context: dict[str, Any] | None) -> dict[str, Any]:
        return {**(extra_context or {}), "presets": [p.as_json() for p in PRESETS]}

    def save_model(self, request: HttpRequest, obj: Integration, form: Any, change: bool) -> None:
        services.integration_save(integration=obj, queues=form.cleaned_data.get("queues") or [])
        for notice in form.notices:
            messages.info(request, notice)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        for formset in formsets:
            if isinstance(formset, AuthenticationFormSet) and formset.result is not None:
                changes = authentications_replace(
                    integration=form.instance, entries=formset.result.entries
                )
                changes.record_on(formset)
            else:
                formset.save()

    # --- copy, disable, enable ----------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        views: dict[str, Callable[..., HttpResponse]] = {
            "copy": self.copy_view,
            "disable": partial(self.switch_view, enable=False),
            "enable": partial(self.switch_view, enable=True),
            "test": self.test_view,
            "resend": self.resend_view,
        }
        own = [
            path(
                f"<path:object_id>/{action}/",
                self.admin_site.admin_view(view),
                name=f"integrations_integration_{action}",
            )
            for action, view in views.items()
        ]
        return own + super().get_urls()

    def _integration_for(
        self, request: HttpRequest, object_id: str, *, adding: bool
    ) -> Integration:
        integration = get_object_or_404(selectors.integration_list(), pk=object_id)
        allowed = (
            self.has_add_permission(request)
            if adding
            else self.has_change_permission(request, integration)
        )
        if not allowed:
            raise PermissionDenied
        return integration

    def copy_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Copy from the integration's page (POST); opens the copy."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        copy = services.integration_copy(
            integration=self._integration_for(request, object_id, adding=True)
        )
        self._copied(request, [copy])
        return HttpResponseRedirect(
            reverse("admin:integrations_integration_change", args=[copy.pk])
        )

    def switch_view(self, request: HttpRequest, object_id: str, *, enable: bool) -> HttpResponse:
        """Disable or enable from the integration's page (POST)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        integration = self._integration_for(request, object_id, adding=False)
        self._switch(request, [integration], enable=enable)
        return self._back(integration)

    @admin.action(description=_("Copy selected integrations"), permissions=["add"])
    def copy_selected(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        self._copied(request, [services.integration_copy(integration=i) for i in queryset])

    @admin.action(description=_("Disable selected integrations"), permissions=["change"])
    def disable_selected(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        self._switch(request, list(queryset), enable=False)

    @admin.action(description=_("Enable selected integrations"), permissions=["change"])
    def enable_selected(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        self._switch(request, list(queryset), enable=True)

    def _copied(self, request: HttpRequest, copies: list[Integration]) -> None:
        for copy in copies:
            messages.success(
                request,
                _(
                    "Copied as “%(name)s”, without authentications and disabled: add its "
                    "authentications, then Enable it."
                )
                % {"name": copy.name},
            )

    def _switch(
        self, request: HttpRequest, integrations: list[Integration], *, enable: bool
    ) -> None:
        for integration in integrations:
            try:
                changed = (
                    services.integration_enable(integration=integration)
                    if enable
                    else services.integration_disable(integration=integration)
                )
            except ValidationError as exc:
                for problem in exc.messages:
                    messages.error(request, problem)
                continue
            if enable:
                text = (
                    _("“%(name)s” enabled: its events are restored.")
                    if changed
                    else _("“%(name)s” was already enabled.")
                )
            else:
                text = (
                    _("“%(name)s” disabled: no events selected; Enable restores them.")
                    if changed
                    else _("“%(name)s” was already disabled.")
                )
            messages.success(request, text % {"name": integration.name})

    def _back(self, integration: Integration) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:integrations_integration_change", args=[integration.pk])
        )

    # --- test run, resend ---------------------------------------------------------------------

    def test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Pick an event and a contact (or a sample), dry or live; shows each step."""
        integration = self._integration_for(request, object_id, adding=False)
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
                )
            except PermissionDenied as exc:
                form.add_error("contact", str(exc))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": integration,
            "title": _("Test “%(name)s”") % {"name": integration.name},
            "form": form,
            "run": run,
        }
        return TemplateResponse(request, "admin/integrations/integration/test_run.html", context)

    def resend_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Send again every failed background delivery since a time (POST), then show the log."""
        integration = self._integration_for(request, object_id, adding=False)
        form = ResendForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            resent = dispatch.deliveries_resend(
                selection=integration.deliveries.filter(created_at__gte=form.cleaned_data["since"])
            )
            messages.success(
                request,
                _("%(count)s failed delivery(ies) since %(since)s will be sent again.")
                % {"count": len(resent.scheduled), "since": _when(form.cleaned_data["since"])},
            )
            if resent.more:
                messages.info(
                    request,
                    _(
                        "The others since then are sent again in the background, "
                        "%(batch)s at a time."
                    )
                    % {"batch": dispatch.RESEND_BATCH},
                )
            return HttpResponseRedirect(
                reverse("admin:integrations_delivery_changelist")
                + f"?integration__id__exact={integration.pk}"
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": integration,
            "title": _("Send failed deliveries of “%(name)s” again") % {"name": integration.name},
            "form": form,
        }
        return TemplateResponse(request, "admin/integrations/integration/resend.html", context)


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


class TestRunForm(forms.Form):
    """What to test: an event, an existing contact or a sample one, dry or live."""

    event = forms.ChoiceField(label=_("Event"), choices=Event.choices)
    contact = forms.CharField(
        label=_("Contact ID"),
        required=False,
        max_length=32,
        help_text=_("Leave empty to use a sample contact in the integration's first queue."),
    )
    live = forms.BooleanField(
        label=_("Live: send the request"),
        required=False,
        help_text=_(
            "Unticked, the request is only rendered. Either way no contact changes and no "
            "delivery is recorded."
        ),
    )

    def __init__(self, *args: Any, integration: Integration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if integration.events:
            self.fields["event"].initial = integration.events[0]

    def clean_contact(self) -> Contact | None:
        value = (self.cleaned_data.get("contact") or "").strip().upper()
        if not value:
            return None
        found = contact_detail().filter(pk=value).first()
        if found is None:
            raise ValidationError(_("No contact has the ID “%(id)s”.") % {"id": value})
        return found


class ResendForm(forms.Form):
    """Since when failed deliveries are sent again."""

    since = forms.DateTimeField(
        label=_("Failed since"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        initial=lambda: timezone.localtime().replace(second=0, microsecond=0) - timedelta(hours=24),
    )
