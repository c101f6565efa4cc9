"""The inlines of a contact's admin page: its newest rows of each kind, newest first.

Messages and the timeline here; other apps add theirs (integrations' deliveries) through
`configurator.extensions.contact_page_inlines`, built on `LatestRowsInline`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from configurator import times
from conversations.choices import SentAs
from conversations.messages import sent_as
from conversations.models import Contact, ContactEvent, Message

# Rows of a contact's messages, timeline and deliveries shown on its page, newest first; the
# rest are one link away, in the list filtered by the contact.
LATEST_SHOWN = 20


class LatestRowsFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """The contact's newest LATEST_SHOWN rows, newest first; `more_url` lists them all."""

    more_url: str | None = None
    total: int | None = None
    list_url_name = ""

    def get_queryset(self) -> Any:
        if not hasattr(self, "_latest"):
            rows = super().get_queryset().order_by(*self.newest_first)[: LATEST_SHOWN + 1]
            latest = list(rows)
            if len(latest) > LATEST_SHOWN and self.instance.pk is not None:
                latest = latest[:LATEST_SHOWN]
                self.total = super().get_queryset().count()
                self.more_url = (
                    reverse(self.list_url_name)
                    + "?"
                    + urlencode({"contact__id__exact": self.instance.pk})
                )
            self._latest = latest
        return self._latest

    newest_first: tuple[str, ...] = ("-id",)

    @property
    def rows_name(self) -> str:
        """What the rows are called in the link to all of them ("messages")."""
        return str(self.model._meta.verbose_name_plural)


class LatestRowsInline(admin.TabularInline[Any, Contact]):
    """A read-only inline of a contact's newest rows, with a link to all of them."""

    extra = 0
    can_delete = False
    template = "admin/conversations/contact/latest_rows_inline.html"
    list_url_name = ""
    newest_first: tuple[str, ...] = ("-id",)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset: Any = super().get_formset(request, obj, formset=LatestRowsFormSet, **kwargs)
        formset.list_url_name = self.list_url_name
        formset.newest_first = self.newest_first
        return formset

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MessageInline(LatestRowsInline):
    """The conversation's messages, both directions, with delivery status."""

    model = Message
    list_url_name = "admin:conversations_message_changelist"
    newest_first = ("-created_at", "-id")
    fields = ("time", "direction", "kind_line", "text", "media_url", "status_line", "agent")
    readonly_fields = fields
    verbose_name_plural = _("Messages (newest first)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).select_related("agent")

    @admin.display(description=_("time"))
    def time(self, obj: Message) -> str:
        return _seconds(obj.created_at)

    @admin.display(description=_("kind"))
    def kind_line(self, obj: Message) -> str:
        """The kind, and for media sent as a text link (EU region), that it went so."""
        if sent_as(obj) == SentAs.TEXT_LINK:
            return str(_("%(kind)s, sent as a link") % {"kind": obj.get_kind_display()})
        return obj.get_kind_display()

    @admin.display(description=_("status"))
    def status_line(self, obj: Message) -> str:
        status = obj.get_status_display()
        return f"{status}: {obj.status_reason}" if obj.status_reason else status


class ContactEventInline(LatestRowsInline):
    """The conversation's timeline: each lifecycle event, when, and what happened."""

    model = ContactEvent
    list_url_name = "admin:conversations_contactevent_changelist"
    newest_first = ("-occurred_at", "-id")
    fields = ("time", "event", "detail", "queue_and_agent")
    readonly_fields = fields
    verbose_name_plural = _("Timeline (newest first)")

    @admin.display(description=_("time"))
    def time(self, obj: ContactEvent) -> str:
        return _seconds(obj.occurred_at)

    @admin.display(description=_("queue / agent after it"))
    def queue_and_agent(self, obj: ContactEvent) -> str:
        queue = (obj.snapshot.get("queue") or {}).get("name") or "—"
        agent = (obj.snapshot.get("agent") or {}).get("name") or "—"
        return f"{queue} / {agent}"


def _seconds(value: datetime) -> str:
    """A timeline needs seconds: steps often happen within the same minute."""
    return times.moment(value)
