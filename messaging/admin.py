"""Admin pages: System Management > Messaging Services, Conversations > Callbacks received."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from functools import partial
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from configurator import times, workers
from configurator.admin_mixins import (
    BoundedLookupsMixin,
    LargeTableAdminMixin,
    ReadOnlyRecordMixin,
    pretty_json,
    simulated_badge,
)
from configurator.audit_admin import AuditHistoryMixin
from configurator.credentials import CredentialForm, CredentialFormSet
from configurator.save_warnings import warn
from conversations.permissions import personal_search_fields, without_personal_fields
from messaging import doctor, selectors, services, simulator
from messaging.choices import AuthenticationDirection, DoctorStatus, Trigger, VerifiedWith
from messaging.models import Callback, DoctorRun, MessagingService, ServiceAuthentication
from messaging.validation import (
    AUTHENTICATION_BLOCK,
    DEFAULT_OVERLAP_HOURS,
    MAX_OVERLAP_HOURS,
    AuthenticationInput,
    AuthenticationsResult,
    clean_authentications,
)
from messaging.webhooks.payload import BodyRefused, stored_json
from queues.choices import SUBCHANNELS

# The request being rendered, for display callables that only receive the object (the webhook
# URL is absolute); a ContextVar because one ModelAdmin serves concurrent requests.
_current_request: ContextVar[HttpRequest | None] = ContextVar("_current_request", default=None)


class AuthenticationForm(CredentialForm):
    """One authentication entry (the shared secret box), with the webhook entry's triggers."""

    credential_block = AUTHENTICATION_BLOCK
    triggers = forms.MultipleChoiceField(
        choices=Trigger.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Inbound (webhook) entry only; MESSAGE_INBOUND is required."),
    )

    class Meta:
        model = ServiceAuthentication
        fields = ["direction", "authentication_id", "secret", "triggers"]


class AuthenticationFormSet(CredentialFormSet):
    """Checks the whole authentication block with the rules the API uses too."""

    result: AuthenticationsResult | None = None

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_form_kwargs(index)
        if self.instance.pk is None and index is not None:
            # A new service starts with its two kinds of entry laid out.
            kwargs["initial"] = (
                {"direction": AuthenticationDirection.OUTBOUND}
                if index == 0
                else {"direction": AuthenticationDirection.INBOUND, "authentication_id": "webhook"}
            )
        return kwargs

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
                    direction=form.cleaned_data.get("direction", ""),
                    authentication_id=form.cleaned_data.get("authentication_id", ""),
                    secret=form.new_secret,
                    triggers=form.cleaned_data.get("triggers") or [],
                    has_stored_secret=state.has_stored_secret,
                    replaces=state.replaces,
                )
            )
        self.result = clean_authentications(
            inputs,
            app_owners=partial(selectors.app_owners, exclude_service_id=self.instance.pk),
        )
        self.show_errors(forms_in_use, self.result.errors)
        if self.result.non_field_errors:
            raise forms.ValidationError(self.result.non_field_errors)


class AuthenticationInline(admin.TabularInline[ServiceAuthentication, MessagingService]):
    """The Authentication block: outbound KEYID@APPID entries and the one webhook entry."""

    model = ServiceAuthentication
    form = AuthenticationForm
    formset = AuthenticationFormSet
    extra = 0
    min_num = 0
    verbose_name = _("authentication")
    verbose_name_plural = _("Authentication")
    fields = ["direction", "authentication_id", "secret", "triggers"]

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 2 if obj is None else 0


class WebhookSecretRotateForm(forms.Form):
    """A new webhook secret (typed, or generated and shown once) and the overlap in hours."""

    generate = forms.BooleanField(
        label=_("Generate one"),
        required=False,
        help_text=_("A random secret, shown once on the next page: copy it into Sinch then."),
    )
    secret = forms.CharField(
        label=_("New secret"),
        required=False,
        strip=False,
        # Never written back into the page, not even when the form comes back with errors.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("The secret set on the app's webhook in Sinch (or leave empty and generate)."),
    )
    overlap_hours = forms.IntegerField(
        label=_("Overlap (hours)"),
        initial=DEFAULT_OVERLAP_HOURS,
        help_text=_(
            "How long the current secret keeps verifying, 0 to %(max)d: the time you have to "
            "set the new one in Sinch."
        )
        % {"max": MAX_OVERLAP_HOURS},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("generate"):
            if cleaned.get("secret"):
                self.add_error("secret", _("Enter a secret or choose Generate one, not both."))
            else:
                cleaned["secret"] = services.webhook_secret_generate()
        elif not cleaned.get("secret") and "secret" not in self.errors:
            # Said with the other fields' errors, not after they are fixed.
            self.add_error("secret", _("Enter the new webhook secret, or choose Generate one."))
        return cleaned


class SimulateForm(forms.Form):
    """A simulated customer message: app, channel and customer default as the simulator says."""

    app_id = forms.ChoiceField(label=_("App"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    identity = forms.CharField(
        label=_("Customer identity"),
        required=False,
        help_text=_(
            "Empty: a new customer (simulated-…). The identity of an earlier simulated message "
            "continues its open conversation."
        ),
    )
    text = forms.CharField(
        label=_("Message"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("What the customer writes."),
    )

    def __init__(self, *args: Any, apps: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        app_field = cast(forms.ChoiceField, self.fields["app_id"])
        app_field.choices = [
            ("", _("The first app (%(app)s)") % {"app": apps[0]} if apps else "—"),
            *((app, app) for app in apps),
        ]
        channel_field = cast(forms.ChoiceField, self.fields["channel"])
        channel_field.choices = [
            ("", _("Any channel the app's queues receive")),
            *((sub.sinch_channel, f"{sub.label} ({sub.sinch_channel})") for sub in SUBCHANNELS),
        ]


@admin.register(MessagingService)
class MessagingServiceAdmin(AuditHistoryMixin, admin.ModelAdmin[MessagingService]):
    """Messaging services, with the webhook URL to paste into the Sinch dashboard."""

    # Its entries' changes (a secret rotation, a new key) are part of its history.
    history_parts = ("authentications",)

    list_display = ["name", "type", "enabled", "region", "project_id", "apps", "webhook_url_link"]
    list_filter = ["type", "enabled", "region"]
    search_fields = ["name", "project_id", "authentications__app_id"]
    readonly_fields = [
        "region",
        "project_id",
        "webhook_url",
        "webhook_secret_overlap",
        "setup_doctor",
    ]
    inlines = [AuthenticationInline]
    change_form_template = "admin/messaging/messagingservice/change_form.html"
    fieldsets = [
        (
            _("Basics"),
            {
                "fields": [
                    "name",
                    "type",
                    "service_connection",
                    "auth_method",
                    "enabled",
                    "region",
                    "project_id",
                ]
            },
        ),
        (_("Webhook"), {"fields": ["webhook_url", "webhook_secret_overlap", "setup_doctor"]}),
    ]

    class Media:
        js = ["messaging/admin/messaging_service.js"]
        css = {"all": ["messaging/admin/messaging_service.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[MessagingService]:
        return selectors.messaging_service_list()

    @admin.display(description=_("apps"))
    def apps(self, obj: MessagingService) -> str:
        return ", ".join(
            a.app_id
            for a in obj.authentications.all()
            if a.direction == AuthenticationDirection.OUTBOUND
        )

    @admin.display(description=_("webhook URL"))
    def webhook_url_link(self, obj: MessagingService) -> str:
        return selectors.webhook_url(obj.pk, _current_request.get())

    @admin.display(description=_("webhook URL"))
    def webhook_url(self, obj: MessagingService) -> str:
        if not obj.pk:
            return str(_("Shown after the service is saved."))
        url = selectors.webhook_url(obj.pk, _current_request.get())
        return format_html(
            '<span class="webhook-url"><input type="text" readonly id="webhook-url" value="{}" '
            'size="70"> <button type="button" class="button" id="webhook-url-copy" '
            'data-copy="webhook-url" data-copied="{}" aria-live="polite">{}</button></span>'
            '<div class="help">{}</div>',
            url,
            _("Copied"),
            _("Copy"),
            _(
                "Paste this as the target of the app's webhook in the Sinch dashboard "
                "(Conversation API > Apps > the app > Webhooks), with the same secret and "
                "triggers as the inbound entry below."
            ),
        )

    @admin.display(description=_("previous webhook secret"))
    def webhook_secret_overlap(self, obj: MessagingService) -> str:
        until = _previous_secret_until(obj)
        if until is None:
            return str(_("None: only the current secret verifies."))
        return str(_("Verifies too until %(until)s.") % {"until": _when(until)})

    @admin.display(description=_("setup doctor"))
    def setup_doctor(self, obj: MessagingService) -> str:
        """The last doctor run's time and outcome, and the way to the doctor."""
        if not obj.pk:
            return str(_("Shown after the service is saved."))
        last = selectors.doctor_runs(obj.pk).first()
        link = reverse("admin:messaging_messagingservice_doctor", args=[obj.pk])
        said = str(
            _(
                "Never run: the doctor asks Sinch whether this service is connected, and can "
                "set the apps' webhooks to this URL for you."
            )
        )
        if last is not None:
            said = str(_("Last run %(when)s: %(outcome)s")) % {
                "when": _when(last.ran_at),
                "outcome": _doctor_outcome(last),
            }
        return format_html(
            '<span id="doctor-last-run">{}</span> <a class="button" href="{}" id="doctor-link">'
            "{}</a>",
            said,
            link,
            _("Run the doctor"),
        )

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/rotate-webhook-secret/",
                self.admin_site.admin_view(self.rotate_webhook_secret_view),
                name="messaging_messagingservice_rotate_webhook_secret",
            ),
            path(
                "<path:object_id>/doctor/",
                self.admin_site.admin_view(self.doctor_view),
                name="messaging_messagingservice_doctor",
            ),
            path(
                "<path:object_id>/simulate/",
                self.admin_site.admin_view(self.simulate_view),
                name="messaging_messagingservice_simulate",
            ),
            *super().get_urls(),
        ]

    def rotate_webhook_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Rotate the webhook secret with an overlap; a generated secret is shown this once."""
        if not object_id.isdigit():
            raise Http404(_("No messaging service has this ID."))
        service = get_object_or_404(selectors.messaging_service_list(), pk=object_id)
        if not self.has_change_permission(request, service):
            raise PermissionDenied
        form = WebhookSecretRotateForm(request.POST or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": service,
            "title": _("Rotate the webhook secret of “%(name)s”") % {"name": service.name},
            "form": form,
            "previous_until": _previous_secret_until(service),
            "max_overlap_hours": MAX_OVERLAP_HOURS,
        }
        if request.method == "POST" and form.is_valid():
            try:
                entry = services.webhook_secret_rotate(
                    service=service,
                    secret=form.cleaned_data["secret"],
                    overlap_hours=form.cleaned_data["overlap_hours"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                until = entry.previous_secret_expires_at
                done = (
                    _("Webhook secret rotated; the previous one verifies until %(until)s.")
                    % {"until": _when(until)}
                    if until is not None
                    else _("Webhook secret rotated; the previous one no longer verifies.")
                )
                # The admin log says what happened, never the secret.
                self.log_change(request, service, str(done))
                if form.cleaned_data["generate"]:
                    context.update(
                        {
                            "title": _("Webhook secret rotated"),
                            "done": done,
                            "new_secret": form.cleaned_data["secret"],
                        }
                    )
                    response = TemplateResponse(
                        request, "admin/messaging/messagingservice/secret_rotated.html", context
                    )
                    # The secret must not be kept by the browser's or a proxy's cache.
                    response["Cache-Control"] = "no-store"
                    return response
                messages.success(request, done)
                return HttpResponseRedirect(
                    reverse("admin:messaging_messagingservice_change", args=[service.pk])
                )
        return TemplateResponse(
            request, "admin/messaging/messagingservice/rotate_webhook_secret.html", context
        )

    def doctor_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The setup doctor: the last run's checks; POST runs it (`fix=1`: fixes the webhooks)."""
        if not object_id.isdigit():
            raise Http404(_("No messaging service has this ID."))
        service = get_object_or_404(selectors.messaging_service_list(), pk=object_id)
        if not self.has_view_or_change_permission(request, service):
            raise PermissionDenied
        can_run = self.has_change_permission(request, service)
        if request.method == "POST":
            if not can_run:
                raise PermissionDenied
            run = doctor.doctor_run(
                service=service,
                fix=request.POST.get("fix") == "1",
                ran_by=request.user.get_username(),
                request=request,
            )
            if run.fixed:
                # The admin log says what changed in Sinch (never the secret).
                self.log_change(
                    request,
                    service,
                    str(_("Setup doctor: %(fixed)s"))
                    % {"fixed": " ".join(f["detail"] for f in run.fixed)},
                )
            counts = doctor.outcome_counts(run.checks)
            level = (
                messages.SUCCESS
                if not counts[DoctorStatus.PROBLEM] and not counts[DoctorStatus.ERROR]
                else messages.WARNING
            )
            self.message_user(
                request, _("The doctor ran: %(outcome)s") % {"outcome": _doctor_outcome(run)}, level
            )
            return HttpResponseRedirect(
                reverse("admin:messaging_messagingservice_doctor", args=[service.pk])
            )
        runs = list(selectors.doctor_runs(service.pk)[:10])
        url = selectors.webhook_url(service.pk, request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": service,
            "title": _("Setup doctor of “%(name)s”") % {"name": service.name},
            "run": runs[0] if runs else None,
            "outcome": _doctor_outcome(runs[0]) if runs else "",
            "history": [(r, _doctor_outcome(r)) for r in runs[1:]],
            "can_run": can_run,
            "webhook_url": url,
            "url_problem": doctor.webhook_url_problem(url),
        }
        return TemplateResponse(request, "admin/messaging/messagingservice/doctor.html", context)

    def simulate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Send a simulated customer message; then follow its callback to its conversation.

        After sending, the page is shown again (GET) with the callback it stored and the form
        filled in for the same customer, so that a second message continues the conversation.
        """
        if not object_id.isdigit():
            raise Http404(_("No messaging service has this ID."))
        service = get_object_or_404(selectors.messaging_service_list(), pk=object_id)
        if not self.has_change_permission(request, service):
            raise PermissionDenied
        routes = simulator.simulation_routes(service)
        initial = {k: request.GET.get(k, "") for k in ("app_id", "channel", "identity")}
        form = SimulateForm(
            request.POST or None,
            initial=initial,
            apps=simulator.service_apps(service),
        )
        if request.method == "POST" and form.is_valid():
            try:
                sent = simulator.message_simulate(service=service, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                query = urlencode(
                    {
                        "callback": str(sent.callback_id),
                        "app_id": sent.app_id,
                        "channel": sent.channel,
                        "identity": sent.identity,
                    }
                )
                url = reverse("admin:messaging_messagingservice_simulate", args=[service.pk])
                return HttpResponseRedirect(f"{url}?{query}")
        callback_id = request.GET.get("callback", "")
        sent_callback = (
            Callback.objects.filter(service=service, simulated=True, pk=int(callback_id))
            .defer("raw_body")
            .first()
            if callback_id.isdigit() and int(callback_id) < 2**63
            else None
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": service,
            "title": _("Simulate a message to “%(name)s”") % {"name": service.name},
            "form": form,
            "routes": routes,
            "sent_callback": sent_callback,
            "conversation": simulator.simulated_conversation(sent_callback),
            # What would leave the administrator waiting for nothing, said before they wait.
            "no_worker": not workers.any_live(),
            "no_delivery_reports": not simulator.delivery_reports_subscribed(service),
            # Links only to pages the user may open.
            "can_view_callback": request.user.has_perm("messaging.view_callback"),
            "can_view_contact": request.user.has_perm("conversations.view_contact"),
        }
        return TemplateResponse(request, "admin/messaging/messagingservice/simulate.html", context)

    # Set, not reset: the page renders after the view returns (TemplateResponse); the next
    # request in this thread sets its own.
    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        _current_request.set(request)
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        _current_request.set(request)
        return super().changeform_view(request, *args, **kwargs)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        form.save_m2m()
        apps_before = selectors.service_app_ids(form.instance.pk) if change else set()
        for formset in formsets:
            if isinstance(formset, AuthenticationFormSet) and formset.result is not None:
                changes = services.authentications_replace(
                    service=form.instance, entries=formset.result.entries
                )
                changes.record_on(formset)
                for notice in formset.result.notices:
                    messages.info(request, notice)
            else:
                formset.save()
        removed = apps_before - selectors.service_app_ids(form.instance.pk)
        warn(request, selectors.stranded_queue_warnings(removed))

    # Deleting a service: its queues' warnings on the confirmation page, and again once done.
    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        service = self.get_object(request, object_id) if request.method == "GET" else None
        if service is not None and self.has_delete_permission(request, service):
            warn(
                request,
                selectors.stranded_queue_warnings(
                    selectors.service_app_ids(service.pk), leaving_service_id=service.pk
                ),
            )
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: MessagingService) -> None:
        apps = selectors.service_app_ids(obj.pk)
        super().delete_model(request, obj)
        warn(request, selectors.stranded_queue_warnings(apps))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MessagingService]) -> None:
        apps: set[str] = set()
        for pk in queryset.values_list("pk", flat=True):
            apps |= selectors.service_app_ids(pk)
        super().delete_queryset(request, queryset)
        warn(request, selectors.stranded_queue_warnings(apps))


def _previous_secret_until(service: MessagingService) -> datetime | None:
    """Until when the previous webhook secret verifies, or None (from the prefetched entries)."""
    for entry in service.authentications.all():
        if entry.direction == AuthenticationDirection.INBOUND:
            return entry.previous_secret_until
    return None


def _when(value: datetime) -> str:
    return times.moment(value)


def _doctor_outcome(run: DoctorRun) -> str:
    """A run in a line: counts by status, whether the webhooks point here, what a fix changed."""
    counts = doctor.outcome_counts(run.checks)
    webhook = {True: _("yes"), False: _("no"), None: _("unknown (Sinch could not tell)")}
    said = _(
        "%(ok)d ok, %(problems)d problem(s), %(errors)d error(s); Sinch's webhooks point "
        "here: %(webhook)s"
    ) % {
        "ok": counts[DoctorStatus.OK],
        "problems": counts[DoctorStatus.PROBLEM],
        "errors": counts[DoctorStatus.ERROR],
        "webhook": webhook[run.webhook_ok],
    }
    if run.fix:
        said += str(_("; fixed %(count)d webhook(s)") % {"count": len(run.fixed)})
    return str(said)


# A callback's personal data: the customer's Sinch contact ID, and what the body says (their
# identity, what they wrote).
CALLBACK_PERSONAL_FIELDS = frozenset({"contact_id", "pretty_summary", "pretty_payload"})


@admin.register(Callback)
class CallbackAdmin(
    ReadOnlyRecordMixin, LargeTableAdminMixin, BoundedLookupsMixin, admin.ModelAdmin[Callback]
):
    """Callbacks received from Sinch: what arrived, and what processing made of it."""

    list_display = [
        "id",
        "received_at",
        "service",
        "trigger_name",
        "app_id",
        "status_line",
        "message_id",
        "simulated_badge",
    ]
    # Newest first as the API lists them, so that each filter is served by the same index
    # (messaging_cb_status, _trigger, _service: the filter's column, then received_at) and the
    # list itself by messaging_cb_received. No date hierarchy: its years and months are a
    # DISTINCT over every callback on every page view.
    ordering = ("-received_at", "-id")
    grows_with_traffic = True
    # The reason code "no queue for its address" by messaging_cb_unrouted (the home page's
    # unrouted messages link here).
    list_filter = ["status", "reason_code", "trigger", "service", "received_at", "simulated"]
    # Exact, case-sensitive matches on indexed columns (`=field` would compare UPPER(column),
    # which no index serves); Sinch's ids are matched as Sinch writes them.
    search_fields = ["message_id__exact", "contact_id__exact", "conversation_id__exact"]
    search_help_text = _("Exact message/event, contact or conversation ID, as Sinch writes it.")
    list_select_related = ["service"]
    list_defer = ("raw_body", "summary")
    actions = ["process_again"]
    fields = (
        "service",
        "trigger",
        "status",
        "status_reason",
        "attempts",
        "received_at",
        "signed_at",
        "processed_at",
        "verified_with",
        "simulated",
        "app_id",
        "message_id",
        "contact_id",
        "conversation_id",
        "nonce",
        "pretty_summary",
        "pretty_payload",
    )
    readonly_fields = fields
    retention_setting = "CALLBACKS_RETENTION_DAYS"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return without_personal_fields(
            request, super().get_fields(request, obj), CALLBACK_PERSONAL_FIELDS
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)

    def get_list_display(self, request: HttpRequest) -> Any:
        return without_personal_fields(
            request, super().get_list_display(request), CALLBACK_PERSONAL_FIELDS
        )

    def get_search_fields(self, request: HttpRequest) -> Any:
        return personal_search_fields(
            request, super().get_search_fields(request), CALLBACK_PERSONAL_FIELDS
        )

    @admin.display(description=_("trigger"))
    def trigger_name(self, obj: Callback) -> SafeString:
        """The trigger, which may break after an underscore (the column stays narrow)."""
        return format_html_join(
            mark_safe("_<wbr>"), "{}", ((part,) for part in obj.trigger.split("_"))
        )

    @admin.display(description=_("status"))
    def status_line(self, obj: Callback) -> SafeString:
        """The status with its reason under it, and the secret that verified it when it was
        the previous one (during a rotation's overlap): one column, so the list fits a laptop."""
        notes = [obj.status_reason[:80]] if obj.status_reason else []
        if obj.verified_with == VerifiedWith.PREVIOUS:
            notes.append(str(_("verified with the previous secret")))
        return format_html(
            "{}{}",
            obj.get_status_display(),
            format_html_join("", '<div class="status-reason">{}</div>', ((n,) for n in notes)),
        )

    @admin.display(description=_("simulated"))
    def simulated_badge(self, obj: Callback) -> SafeString:
        return simulated_badge(obj.simulated)

    @admin.display(description=_("what it says"))
    def pretty_summary(self, obj: Callback) -> SafeString:
        return pretty_json(obj.summary)

    @admin.display(description=_("body as received"))
    def pretty_payload(self, obj: Callback) -> SafeString:
        try:
            return pretty_json(stored_json(bytes(obj.raw_body)))
        except BodyRefused as exc:
            return format_html("<p>{}</p>", _("The body cannot be shown: %s") % exc)

    @admin.action(description=_("Process selected callbacks again"), permissions=["change"])
    def process_again(self, request: HttpRequest, queryset: QuerySet[Callback]) -> None:
        """A bounded first batch now; with "select all" the rest goes on in the background."""
        started = services.callbacks_reprocess(selection=queryset)
        self.message_user(
            request,
            _("%(count)d callback(s) queued for processing.") % {"count": started.done},
            messages.SUCCESS,
        )
        if started.more:
            self.message_user(
                request,
                _(
                    "More of the selection is queued in the background, %(batch)d at a time "
                    "(callbacks pending already are left as they are)."
                )
                % {"batch": services.REPROCESS_BATCH},
                messages.INFO,
            )
