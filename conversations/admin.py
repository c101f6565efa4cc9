"""Admin pages of the Conversations section: contacts with their timeline, and agents.

Operators move a conversation through its lifecycle from its page; each button posts to one
small view that calls the same service the API calls. The inlines of the contact's page (its
newest messages and events) are in admin_inlines.py.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from configurator import extensions, times
from configurator.admin_mixins import (
    BoundedLookupsMixin,
    CheckedDeleteMixin,
    LargeTableAdminMixin,
    is_autocomplete,
    pretty_json,
    simulated_badge,
)
from configurator.audit_admin import AuditHistoryMixin
from configurator.limits import REPLY_MAX_CHARS
from conversations import admin_start, lifecycle, selectors, services
from conversations import messages as conversation_messages
from conversations.admin_inlines import ContactEventInline, MessageInline
from conversations.choices import Event
from conversations.lifecycle import LifecycleError
from conversations.models import Agent, Contact, ContactEvent, Message
from conversations.permissions import (
    CONTACT_PERSONAL_FIELDS,
    can_view_personal_data,
    personal_search_fields,
    without_personal_fields,
)
from queues.choices import SUBCHANNELS
from queues.models import Queue


class QueueShownFilter(admin.SimpleListFilter):
    """By queue, without listing thousands of queues: the queue chosen (from a queue's page,
    or a link) is shown with the way back to all; the list of queues is a page of its own."""

    title = _("queue")
    parameter_name = "queue__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        chosen = self.value()
        if not chosen or not chosen.isdigit():
            return []
        queue = Queue.objects.filter(pk=int(chosen)).first()
        return [(chosen, str(queue))] if queue else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(**{self.parameter_name: int(value)})


class AgentQueueFilter(QueueShownFilter):
    """Agents serving the queue chosen."""

    parameter_name = "queues__id__exact"


class SubchannelFilter(admin.SimpleListFilter):
    """Channel subtypes from the list of subchannels, not from a DISTINCT over every contact."""

    title = _("channel subtype")
    parameter_name = "channel_sub_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(sub.name, sub.label) for sub in SUBCHANNELS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(channel_sub_type=value) if value else queryset


class WaitingFilter(admin.SimpleListFilter):
    """Conversations waiting in a queue for an agent (the home page's figures link here); served
    by the partial index of waiting contacts."""

    title = _("waiting")
    parameter_name = "waiting"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", str(_("Waiting for an agent")))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(waiting_since__isnull=False, queue__isnull=False)
        return queryset


@admin.register(Agent)
class AgentAdmin(
    AuditHistoryMixin, LargeTableAdminMixin, CheckedDeleteMixin, admin.ModelAdmin[Agent]
):
    """Agents and the queues they serve."""

    list_display = ["name", "number", "chat_address", "email", "queue_names"]
    search_fields = ["name", "=number", "chat_address", "email"]
    list_filter = [AgentQueueFilter]
    autocomplete_fields = ["queues"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agent]:
        if is_autocomplete(request):
            serving = request.GET.get(SERVING_QUEUE_PARAM, "")
            if serving.isdigit() and len(serving) < 19:  # a bigint key, not a 500
                return selectors.agents_serving_first(int(serving))
            return Agent.objects.all()
        return selectors.agent_list()

    def autocomplete_group(self, obj: Agent) -> str | None:
        """Under which heading the searchable select of a conversation's page offers an agent."""
        serves = getattr(obj, "serves_queue", None)
        if serves is None:
            return None
        return str(_("Serving this conversation's queue") if serves else _("Other agents"))

    @admin.display(description=_("queues"))
    def queue_names(self, obj: Agent) -> str:
        return ", ".join(q.name for q in obj.queues.all())

    def delete_problems(self, obj: Agent) -> list[str]:
        return services.agent_delete_problems(obj)

    def delete_model(self, request: HttpRequest, obj: Agent) -> None:
        services.agent_delete(agent=obj)


# The contact's personal data as the admin names it (its attached data is shown pretty).
PERSONAL_ADMIN_FIELDS = frozenset({*CONTACT_PERSONAL_FIELDS, "pretty_cad"})

# The operator's buttons, by the event each causes (the event names the admin URL).
ACTIONS = {event: service for event, service in services.OPERATOR_ACTIONS.values()}
# Actions that cannot be taken back ask first, on a page of their own (works without scripts).
CONFIRMED_ACTIONS = frozenset({Event.ENDED, Event.ABANDONED})
# What the confirmation page of such an action says: its verb, and what follows from it.
ACTION_WORDS: dict[str, tuple[Any, Any]] = {
    Event.ENDED: (
        _("End"),
        _(
            "It ends for good: it leaves its agent and its queue, and the integrations on "
            "Ended are called. A new message from the customer opens a new conversation."
        ),
    ),
    Event.ABANDONED: (
        _("Abandon"),
        _(
            "It is recorded as abandoned (nobody handled it): it leaves its queue and agent, "
            "and the integrations on Abandoned are called."
        ),
    ),
}
# The autocomplete's parameter that offers the agents of this queue first.
SERVING_QUEUE_PARAM = "serving_queue"


class TargetSearchSelect(AutocompleteSelect):
    """Django's searchable select, saying what to search for; the agents of `serving_queue`
    (the conversation's queue) come first."""

    serving_queue: int | None = None

    def __init__(self, field: Any, *, placeholder: Any) -> None:
        super().__init__(field, admin.site)
        self.placeholder = placeholder

    def build_attrs(self, base_attrs: Any, extra_attrs: Any = None) -> dict[str, Any]:
        attrs: dict[str, Any] = super().build_attrs(base_attrs, extra_attrs)
        attrs["data-placeholder"] = str(self.placeholder)
        return attrs

    def get_url(self) -> str:
        url = str(super().get_url())
        if self.serving_queue is None:
            return url
        # select2 adds term and page to this query string.
        return f"{url}?{urlencode({SERVING_QUEUE_PARAM: self.serving_queue})}"


class ContactTargetForm(forms.Form):
    """The agent or queue an operator's action goes to, chosen by search (thousands of each);
    nothing is chosen beforehand."""

    agent = forms.ModelChoiceField(
        queryset=Agent.objects.all(),
        required=False,
        widget=TargetSearchSelect(
            Contact._meta.get_field("agent"), placeholder=_("Search an agent…")
        ),
        label=_("Agent"),
    )
    queue = forms.ModelChoiceField(
        queryset=Queue.objects.all(),
        required=False,
        widget=TargetSearchSelect(
            Contact._meta.get_field("queue"), placeholder=_("Search a queue…")
        ),
        label=_("Queue"),
    )

    def __init__(self, *args: Any, serving_queue: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        widget = self.fields["agent"].widget
        assert isinstance(widget, TargetSearchSelect)  # noqa: S101 - narrows the type
        widget.serving_queue = serving_queue


@admin.register(Contact)
class ContactAdmin(
    AuditHistoryMixin, LargeTableAdminMixin, BoundedLookupsMixin, admin.ModelAdmin[Contact]
):
    """Live and past conversations: state, queue, channel, agent and how long they waited."""

    list_display = [
        "id",
        "state",
        "queue",
        "channel",
        "source",
        "agent",
        "waiting_time",
        "created",
        "simulated_badge",
    ]
    list_filter = [
        "state",
        WaitingFilter,
        QueueShownFilter,
        SubchannelFilter,
        "direction",
        "created",
        "simulated",
    ]
    grows_with_traffic = True
    # Exact matches on indexed columns: `=field` would compare UPPER(column), which no index
    # serves; ids are compared as Sinch and this app write them.
    search_fields = [
        "id__exact",
        "guid__exact",
        "source__exact",
        "sinch_conversation_id__exact",
        "sinch_contact_id__exact",
    ]
    search_help_text = _("Exact contact or Sinch ID, or the customer's identity as sent.")
    list_select_related = ["queue", "agent"]
    inlines = [MessageInline, ContactEventInline]
    change_form_template = "admin/conversations/contact/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "state",
                    ("queue", "agent"),
                    ("channel_type", "channel_sub_type", "direction"),
                    ("source", "destination"),
                    ("created", "waiting_time", "priority"),
                ]
            },
        ),
        (
            _("Routing"),
            {
                "classes": ["collapse"],
                "fields": [
                    "guid",
                    "language",
                    "skills",
                    "forwarding_queue",
                    "preferred_agent",
                    "required_agents",
                    "required_agents_expiry",
                    "transferring_agent",
                    "external_destination",
                    ("queued_at", "accepted_at", "ended_at"),
                    "connected_at",
                ],
            },
        ),
        (
            _("Sinch"),
            {
                "classes": ["collapse"],
                "fields": [
                    "sinch_app_id",
                    "sinch_channel",
                    "sinch_contact_id",
                    "sinch_conversation_id",
                ],
            },
        ),
        (_("Attached data"), {"fields": ["pretty_cad"]}),
    ]

    class Media:
        css = {"all": ["conversations/admin/contact.css"]}

    @property
    def media(self) -> forms.Media:
        # The actions' searchable selects bring the admin's select2 scripts.
        return super().media + ContactTargetForm().media

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        # Other apps' inlines (integrations' deliveries) come after the contact's own timeline.
        # Its messages and events (texts, contact data) are personal data.
        own = self.inlines if can_view_personal_data(request.user) else []
        return [*own, *extensions.contact_page_inlines]

    def get_list_display(self, request: HttpRequest) -> Any:
        shown = super().get_list_display(request)
        return without_personal_fields(request, shown, PERSONAL_ADMIN_FIELDS)

    def get_search_fields(self, request: HttpRequest) -> Any:
        return personal_search_fields(
            request, super().get_search_fields(request), PERSONAL_ADMIN_FIELDS
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets: list[tuple[Any, dict[str, Any]]] = [
            (
                title,
                {
                    **options,
                    "fields": without_personal_fields(
                        request, options["fields"], PERSONAL_ADMIN_FIELDS
                    ),
                },
            )
            for title, options in super().get_fieldsets(request, obj)
        ]
        fieldsets = [(title, options) for title, options in fieldsets if options["fields"]]
        if not can_view_personal_data(request.user):
            fieldsets.append((_("Customer"), {"fields": ["personal_data_hidden"]}))
        if obj is None or not obj.simulated:
            return fieldsets
        # A simulated conversation says so first, and where its replies go.
        (title, options), *rest = fieldsets
        return [(title, {**options, "fields": ["simulated_note", *options["fields"]]}), *rest]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Contacts change only through lifecycle actions, never by editing fields.
        names: list[str] = []
        for _title, options in self.get_fieldsets(request, obj):
            for entry in options["fields"]:
                names.extend([entry] if isinstance(entry, str) else entry)
        return names

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        return selectors.contact_list()

    @admin.display(description=_("channel"), ordering="channel_sub_type")
    def channel(self, obj: Contact) -> str:
        return obj.channel_sub_type or obj.get_channel_type_display()

    @admin.display(description=_("waiting"), ordering="waiting_since")
    def waiting_time(self, obj: Contact) -> str:
        return times.waited(obj.waiting_since)

    @admin.display(description=_("attached data"))
    def pretty_cad(self, obj: Contact) -> SafeString:
        return pretty_json(obj.cad)

    @admin.display(description=_("personal data"))
    def personal_data_hidden(self, obj: Contact) -> str:
        return str(
            _(
                "Hidden: the customer's identity, the messages, the attached data and the "
                "timeline need the permission to view customers' personal data."
            )
        )

    @admin.display(description=_("simulated"))
    def simulated_badge(self, obj: Contact) -> SafeString:
        return simulated_badge(obj.simulated)

    @admin.display(description=_("simulated"))
    def simulated_note(self, obj: Contact) -> SafeString:
        return format_html(
            "{} {}",
            simulated_badge(obj.simulated),
            _(
                "Opened by the simulator (the messaging service's “Simulate a message”): "
                "replies stay in the local sandbox, which reports them DELIVERED, then READ; "
                "nothing is sent to Sinch."
            ),
        )

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/act/<str:event>/",
                self.admin_site.admin_view(self.act_view),
                name="conversations_contact_act",
            ),
            path(
                "start/",
                self.admin_site.admin_view(self.start_chat_view),
                name="conversations_contact_start",
            ),
            path(
                "<path:object_id>/reply/",
                self.admin_site.admin_view(self.reply_view),
                name="conversations_contact_reply",
            ),
        ]
        return own + super().get_urls()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        contact = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if contact is not None:
            allowed = set(lifecycle.allowed_events(contact))
            can_pick_agent = request.user.has_perm("conversations.view_agent")
            can_pick_queue = request.user.has_perm("queues.view_queue")
            other_queues = Queue.objects.filter(channel_type=contact.channel_type).exclude(
                pk=contact.queue_id or 0
            )
            context.update(
                contact_actions=[e for e in ACTIONS if e in allowed],
                contact_open=lifecycle.phase(contact) is not lifecycle.Phase.CLOSED,
                contact_where=lifecycle.describe(contact),
                # The pickers search agents and queues: without the view permission their
                # search is refused, so the action is not offered (the page says why).
                agents=can_pick_agent and Agent.objects.exclude(pk=contact.agent_id or 0).exists(),
                other_queues=can_pick_queue and other_queues.exists(),
                pick_refused=not (can_pick_agent and can_pick_queue),
                target_form=ContactTargetForm(auto_id=False, serving_queue=contact.queue_id),
                can_act=self.has_change_permission(request, contact),
                reply_draft=_reply_draft_take(request, contact),
                show_save=False,
                show_save_and_continue=False,
                show_save_and_add_another=False,
            )
        return super().change_view(request, object_id, form_url, context)

    def start_chat_view(self, request: HttpRequest) -> HttpResponse:
        """An agent starts an outbound chat (conversations.admin_start)."""
        return admin_start.start_chat_view(self, request)

    def _contact_for_action(self, request: HttpRequest, object_id: str) -> Contact:
        contact = get_object_or_404(Contact, pk=object_id)
        if not self.has_change_permission(request, contact):
            raise PermissionDenied
        return contact

    def _back(self, contact: Contact) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:conversations_contact_change", args=[contact.pk])
        )

    def act_view(self, request: HttpRequest, object_id: str, event: str) -> HttpResponse:
        """One lifecycle action from the contact's page (POST)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        contact = self._contact_for_action(request, object_id)
        service = ACTIONS.get(event)
        if service is None:
            messages.error(request, _("Unknown action."))
            return self._back(contact)
        if event in CONFIRMED_ACTIONS and request.POST.get("confirmed") != "yes":
            return self._confirm_page(request, contact, event)
        try:
            params = _targets(
                event, agent=request.POST.get("agent", ""), queue=request.POST.get("queue", "")
            )
            service(contact=contact, by=request.user.get_username(), **params)
        except (LifecycleError, ValidationError) as exc:
            messages.error(request, _message(exc))
        else:
            messages.success(request, _("%(event)s.") % {"event": Event(event).label})
        return self._back(contact)

    def _confirm_page(self, request: HttpRequest, contact: Contact, event: str) -> HttpResponse:
        """Ask before ending or abandoning: the button posts here, "Yes" posts again."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": contact,
            "event": event,
            "action_label": ACTION_WORDS[event][0],
            "consequence": ACTION_WORDS[event][1],
            "contact_where": lifecycle.describe(contact),
            "title": _("%(action)s conversation %(contact)s?")
            % {"action": ACTION_WORDS[event][0], "contact": contact.pk},
        }
        return TemplateResponse(request, "admin/conversations/contact/confirm_action.html", context)

    def reply_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Send a reply to the customer from the contact's page (POST)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        contact = self._contact_for_action(request, object_id)
        text = request.POST.get("text", "")
        media_url = request.POST.get("media_url", "").strip()
        try:
            sent = conversation_messages.contact_reply(
                contact=contact, text=text, media_url=media_url
            )
        except (LifecycleError, ValidationError, conversation_messages.ReplyFailed) as exc:
            messages.error(request, _message(exc))
            _reply_draft_keep(request, contact, text, media_url)
        else:
            notice = conversation_messages.sent_as_notice(sent)
            if notice:
                messages.warning(request, notice)
            else:
                messages.success(request, _("Reply sent."))
        return self._back(contact)


# A reply that was not sent comes back in the reply box once, through the session (the page is
# shown by a redirect, so that reloading it sends nothing). Far beyond any reply's limit, only
# the beginning is kept: the error says the text is too long anyway.
REPLY_DRAFT_KEPT_CHARS = 16 * REPLY_MAX_CHARS


def _reply_draft_key(contact: Contact) -> str:
    return f"conversations:reply-draft:{contact.pk}"


def _reply_draft_keep(request: HttpRequest, contact: Contact, text: str, media_url: str) -> None:
    if text or media_url:
        request.session[_reply_draft_key(contact)] = {
            "text": text[:REPLY_DRAFT_KEPT_CHARS],
            "media_url": media_url[:REPLY_DRAFT_KEPT_CHARS],
        }


def _reply_draft_take(request: HttpRequest, contact: Contact) -> dict[str, str]:
    draft = request.session.pop(_reply_draft_key(contact), None)
    if isinstance(draft, str):  # kept before the reply box had a media URL
        return {"text": draft, "media_url": ""}
    if not isinstance(draft, dict):
        return {"text": "", "media_url": ""}
    return {key: str(draft.get(key) or "") for key in ("text", "media_url")}


def _targets(event: str, *, agent: str, queue: str) -> dict[str, Any]:
    """The agent or queue an action goes to, from its form: allocate and forward name one,
    transfer either."""
    if event == Event.ALLOCATED:
        return {"agent": _pick(Agent, agent, _("an agent"))}
    if event == Event.FORWARDED:
        return {"queue": _pick(Queue, queue, _("a queue"))}
    if event == Event.TRANSFERRED:
        if agent and queue:
            raise ValidationError(_("Choose a queue or an agent, not both."))
        if agent:
            return {"agent": _pick(Agent, agent, _("an agent"))}
        return {"queue": _pick(Queue, queue, _("a queue or an agent"))}
    return {}


def _pick(model: type[Agent] | type[Queue], raw: str, what: Any) -> Any:
    try:
        return model.objects.get(pk=int(raw))
    except (ValueError, model.DoesNotExist):
        raise ValidationError(_("Choose %(what)s.") % {"what": what}) from None


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


class ContactRowsAdmin(LargeTableAdminMixin, admin.ModelAdmin[Any]):
    """A read-only list of one kind of a contact's rows, reached from the contact's page.

    Not on the admin index (`has_module_permission`): it is where "all N" of a contact's
    page leads, filtered by that contact.
    """

    list_select_related = ()
    search_fields = ["contact__id__exact"]
    search_help_text = _("Exact contact ID.")
    ordering = ["-id"]
    grows_with_traffic = True
    extra_lookups = ("contact",)  # a contact's page links to its rows

    def has_module_permission(self, request: HttpRequest) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Rows of a contact are the contact's data: whoever may view contacts may read them.
        return can_view_personal_data(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("contact"), ordering="contact_id")
    def contact_link(self, obj: Any) -> SafeString:
        url = reverse("admin:conversations_contact_change", args=[obj.contact_id])
        return format_html('<a href="{}">{}</a>', url, obj.contact_id)


@admin.register(ContactEvent)
class ContactEventAdmin(ContactRowsAdmin):
    """Every lifecycle event of a contact (its page shows the newest)."""

    list_display = ["occurred_at", "contact_link", "event", "detail"]
    list_filter = ["event"]
    fields = readonly_fields = ("contact_link", "event", "occurred_at", "detail", "pretty_snapshot")

    @admin.display(description=_("contact data"))
    def pretty_snapshot(self, obj: ContactEvent) -> SafeString:
        return pretty_json(obj.snapshot)


@admin.register(Message)
class MessageAdmin(ContactRowsAdmin):
    """Every message of a contact (its page shows the newest)."""

    list_display = ["created_at", "contact_link", "direction", "kind", "text", "status", "agent"]
    list_select_related = ("agent",)  # type: ignore[assignment]  # the base lists none
    fields = readonly_fields = (
        "contact_link",
        "created_at",
        "direction",
        "kind",
        "text",
        "media_url",
        "status",
        "status_reason",
        "status_at",
        "agent",
        "sinch_message_id",
    )
