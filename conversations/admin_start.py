"""The admin's "Start a chat" page (from an agent's or a queue's page): the form, and its view.

The form only parses what was typed; `conversations.outbound.chat_start` checks it (the same
service as `POST /api/v1/contacts/`) and its errors come back by field, the typed input kept.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from conversations import messages as conversation_messages
from conversations import outbound
from conversations.gateways import WhatsAppTemplate
from conversations.models import Agent, Contact
from conversations.permissions import chat_start_check
from queues.choices import SUBCHANNEL_BY_NAME, SUBCHANNELS
from queues.models import Queue


class ChatStartForm(forms.Form):
    """Who starts the chat, from which app and channel, to whom, with what first message."""

    agent = forms.ModelChoiceField(
        queryset=Agent.objects.all(),
        widget=AutocompleteSelect(Contact._meta.get_field("agent"), admin.site),
        label=_("Agent"),
    )
    queue = forms.ModelChoiceField(
        queryset=Queue.objects.all(),
        required=False,
        widget=AutocompleteSelect(Contact._meta.get_field("queue"), admin.site),
        label=_("Queue"),
        help_text=_(
            "Optional: a queue holding an address of this app and channel. Without one the "
            "chat is direct."
        ),
    )
    app_id = forms.CharField(
        label=_("Sinch app ID"),
        max_length=64,
        help_text=_("The app whose outbound key (KEYID@APPID) sends the first message."),
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[(s.sinch_channel, f"{s.label} ({s.sinch_channel})") for s in SUBCHANNELS],
    )
    identity = forms.CharField(
        label=_("Customer identity"),
        max_length=200,
        help_text=_("The customer on the channel: a phone number for WhatsApp and SMS, …"),
    )
    text = forms.CharField(label=_("Message"), required=False, widget=forms.Textarea({"rows": 3}))
    media_url = forms.CharField(label=_("Media URL"), required=False, max_length=2000)
    template = forms.CharField(
        label=_("WhatsApp template"),
        required=False,
        help_text=_(
            "Instead of a message: the template's name. WhatsApp takes free text only within "
            "24 hours of the customer's last message; outside that window only a template "
            "starts the chat."
        ),
    )
    template_language = forms.CharField(
        label=_("Template language"), required=False, initial="en_US", max_length=20
    )
    template_parameters = forms.CharField(
        label=_("Template parameters"),
        required=False,
        widget=forms.Textarea({"rows": 2}),
        help_text=_("One name=value a line, such as body[1]text=42."),
    )

    def clean_template_parameters(self) -> dict[str, str]:
        parameters: dict[str, str] = {}
        for line in self.cleaned_data.get("template_parameters", "").splitlines():
            if not line.strip():
                continue
            name, equals, value = line.partition("=")
            if not equals:
                raise ValidationError(_("Write each parameter as name=value."))
            parameters[name.strip()] = value.strip()
        return parameters

    def chosen_template(self) -> WhatsAppTemplate | None:
        """The template chosen, if any."""
        name = self.cleaned_data.get("template", "")
        if not name:
            return None
        return WhatsAppTemplate(
            name=name,
            language=self.cleaned_data.get("template_language", ""),
            parameters=self.cleaned_data.get("template_parameters") or {},
        )


def start_chat_view(model_admin: admin.ModelAdmin[Contact], request: HttpRequest) -> HttpResponse:
    """Show the form (prefilled from `?agent=` or `?queue=`); on POST start the chat."""
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    chat_start_check(user=request.user)
    if request.method == "POST":
        form = ChatStartForm(request.POST)
        if form.is_valid():
            contact = _start(request, form)
            if contact is not None:
                return HttpResponseRedirect(
                    reverse("admin:conversations_contact_change", args=[contact.pk])
                )
    else:
        form = ChatStartForm(initial=_initial(request))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "form": form,
        "media": model_admin.media + form.media,
        "title": _("Start a chat"),
    }
    return TemplateResponse(request, "admin/conversations/contact/start_chat.html", context)


def _start(request: HttpRequest, form: ChatStartForm) -> Contact | None:
    data = form.cleaned_data
    try:
        contact = outbound.chat_start(
            agent=data["agent"],
            queue=data.get("queue"),
            app_id=data["app_id"],
            channel=data["channel"],
            identity=data["identity"],
            text=data.get("text", ""),
            media_url=data.get("media_url", ""),
            template=form.chosen_template(),
        )
    except outbound.ChatStartFailed as exc:
        form.add_error(None, _("Sinch did not send it, nothing was stored: %(why)s") % {"why": exc})
        return None
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None
    messages.success(
        request,
        _("Chat started: the first message went to %(identity)s; waiting for it to arrive.")
        % {"identity": contact.source},
    )
    # Media the channel takes only as a link went as one: the agent is told, as after a reply.
    first = contact.messages.order_by("created_at", "id").first()
    notice = conversation_messages.sent_as_notice(first) if first else ""
    if notice:
        messages.warning(request, notice)
    return contact


def _initial(request: HttpRequest) -> dict[str, Any]:
    """From an agent's page the agent; from a queue's page the queue, its app and channel."""
    initial: dict[str, Any] = {}
    agent = request.GET.get("agent", "")
    if agent.isdigit() and len(agent) < 19:
        initial["agent"] = Agent.objects.filter(pk=int(agent)).first()
    queue_id = request.GET.get("queue", "")
    if queue_id.isdigit() and len(queue_id) < 19:
        queue = Queue.objects.filter(pk=int(queue_id)).first()
        address = queue.addresses.order_by("pk").first() if queue else None
        if queue is not None:
            initial["queue"] = queue
        if address is not None and address.subchannel in SUBCHANNEL_BY_NAME:
            initial["app_id"] = address.app_id
            initial["channel"] = SUBCHANNEL_BY_NAME[address.subchannel].sinch_channel
    return initial
