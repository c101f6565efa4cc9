"""Admin pages of the Conversations section: contacts with their timeline, and agents.

Operators move a conversation through its lifecycle from its page; each button posts to one
small view that calls the same service the API calls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from configurator.admin_mixins import BoundedLookupsMixin, CheckedDeleteMixin, pretty_json
from conversations import lifecycle, selectors, services
from conversations.choices import Event
from conversations.lifecycle import LifecycleError
from conversations.models import Agent, Contact, ContactEvent, Message
from queues.models import Queue


@admin.register(Agent)
class AgentAdmin(CheckedDeleteMixin, admin.ModelAdmin[Agent]):
    """Agents and the queues they serve."""

    list_display = ["name", "number", "chat_address", "email", "queue_names"]
    search_fields = ["name", "number", "chat_address", "email"]
    list_filter = ["queues"]
    filter_horizontal = ["queues"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agent]:
        return selectors.agent_list()

    @admin.display(description=_("queues"))
    def queue_names(self, obj: Agent) -> str:
        return ", ".join(q.name for q in obj.queues.all())

    def delete_problems(self, obj: Agent) -> list[str]:
        return services.agent_delete_problems(obj)

    def delete_model(self, request: HttpRequest, obj: Agent) -> None:
        services.agent_delete(agent=obj)


class MessageInline(admin.TabularInline[Message, Contact]):
    """The conversation's messages, both directions, with delivery status."""

    model = Message
    extra = 0
    can_delete = False
    fields = ("time", "direction", "kind", "text", "media_url", "status_line", "agent")
    readonly_fields = fields
    verbose_name_plural = _("Messages")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("time"))
    def time(self, obj: Message) -> str:
        return _seconds(obj.created_at)

    @admin.display(description=_("status"))
    def status_line(self, obj: Message) -> str:
        status = obj.get_status_display()
        return f"{status}: {obj.status_reason}" if obj.status_reason else status


class ContactEventInline(admin.TabularInline[ContactEvent, Contact]):
    """The conversation's timeline: each lifecycle event, when, and what happened."""

    model = ContactEvent
    extra = 0
    can_delete = False
    fields = ("time", "event", "detail", "queue_and_agent")
    readonly_fields = fields
    verbose_name_plural = _("Timeline")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("time"))
    def time(self, obj: ContactEvent) -> str:
        return _seconds(obj.occurred_at)

    @admin.display(description=_("queue / agent after it"))
    def queue_and_agent(self, obj: ContactEvent) -> str:
        queue = (obj.snapshot.get("queue") or {}).get("name") or "—"
        agent = (obj.snapshot.get("agent") or {}).get("name") or "—"
        return f"{queue} / {agent}"


# Inlines other apps add to the contact's page (integrations add their deliveries), in order.
_extra_contact_inlines: list[type[admin.options.InlineModelAdmin[Any, Contact]]] = []


def add_contact_inline(inline: type[admin.options.InlineModelAdmin[Any, Contact]]) -> None:
    """Show `inline` on the contact's page after its own timeline (a hook for downstream apps)."""
    if inline not in _extra_contact_inlines:
        _extra_contact_inlines.append(inline)


# The operator's buttons, by the event each causes (the event names the admin URL).
ACTIONS = {event: service for event, service in services.OPERATOR_ACTIONS.values()}


@admin.register(Contact)
class ContactAdmin(BoundedLookupsMixin, admin.ModelAdmin[Contact]):
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
    ]
    list_filter = ["state", "queue", "channel_sub_type", "direction", "created"]
    search_fields = ["=id", "=guid", "source", "=sinch_conversation_id", "=sinch_contact_id"]
    search_help_text = _("Exact contact or Sinch ID, or the customer's identity.")
    list_select_related = ["queue", "agent"]
    date_hierarchy = "created"
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

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        return [*self.inlines, *_extra_contact_inlines]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Contacts change only through lifecycle actions, never by editing fields.
        names: list[str] = []
        for _title, options in self.fieldsets:
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
        if obj.waiting_since is None:
            return "—"
        return timesince(obj.waiting_since, timezone.now())

    @admin.display(description=_("attached data"))
    def pretty_cad(self, obj: Contact) -> SafeString:
        return pretty_json(obj.cad)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/act/<str:event>/",
                self.admin_site.admin_view(self.act_view),
                name="conversations_contact_act",
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
            other_queues = Queue.objects.filter(channel_type=contact.channel_type).exclude(
                pk=contact.queue_id or 0
            )
            context.update(
                contact_actions=[e for e in ACTIONS if e in allowed],
                contact_open=lifecycle.phase(contact) is not lifecycle.Phase.CLOSED,
                contact_where=lifecycle.describe(contact),
                agents=Agent.objects.exclude(pk=contact.agent_id or 0),
                other_queues=other_queues,
                can_act=self.has_change_permission(request, contact),
                show_save=False,
                show_save_and_continue=False,
                show_save_and_add_another=False,
            )
        return super().change_view(request, object_id, form_url, context)

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
        params: dict[str, Any] = {}
        try:
            target = request.POST.get("target", "")
            if event == Event.ALLOCATED or (event == Event.TRANSFERRED and "agent:" in target):
                params["agent"] = _pick(Agent, target.removeprefix("agent:"), _("an agent"))
            elif event in (Event.FORWARDED, Event.TRANSFERRED):
                params["queue"] = _pick(Queue, target.removeprefix("queue:"), _("a queue"))
            service(contact=contact, by=request.user.get_username(), **params)
        except (LifecycleError, ValidationError) as exc:
            messages.error(request, _message(exc))
        else:
            messages.success(request, _("%(event)s.") % {"event": Event(event).label})
        return self._back(contact)

    def reply_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Send a reply to the customer from the contact's page (POST)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        contact = self._contact_for_action(request, object_id)
        try:
            services.contact_reply(contact=contact, text=request.POST.get("text", ""))
        except (LifecycleError, ValidationError, services.ReplyFailed) as exc:
            messages.error(request, _message(exc))
        else:
            messages.success(request, _("Reply sent."))
        return self._back(contact)


def _pick(model: type[Agent] | type[Queue], raw: str, what: Any) -> Any:
    try:
        return model.objects.get(pk=int(raw))
    except (ValueError, model.DoesNotExist):
        raise ValidationError(_("Choose %(what)s.") % {"what": what}) from None


def _seconds(value: datetime) -> str:
    """A timeline needs seconds: steps often happen within the same minute."""
    return date_format(timezone.localtime(value), "Y-m-d H:i:s")


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)
