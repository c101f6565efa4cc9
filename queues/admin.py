"""Admin pages: Queue Management > Queues."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from configurator import times
from configurator.admin_mixins import CheckedDeleteMixin, LargeTableAdminMixin, is_autocomplete
from configurator.audit_admin import AuditHistoryMixin
from configurator.save_warnings import warn
from queues import selectors, services
from queues.choices import SUBCHANNELS
from queues.models import Queue
from queues.validation import AddressesResult, clean_addresses


class QueueForm(forms.ModelForm[Queue]):
    """A queue with its addresses, one per line, checked by the rules the API uses too."""

    addresses = forms.CharField(
        label=_("Addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "class": "vLargeTextField mono"}),
    )

    class Meta:
        model = Queue
        fields = [
            "name",
            "description",
            "channel_type",
            "default_priority",
            "addresses",
            "sms_sender_id",
            "max_waiting_time",
            "overflow_queue",
        ]
        help_texts = {
            "max_waiting_time": _(
                "Conversations waiting longer move to the overflow queue (HH:MM:SS)."
            )
        }

    result: AddressesResult | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "addresses" in self.fields:
            self.fields["addresses"].help_text = addresses_help()
        if self.instance.pk and not self.is_bound:
            self.initial["addresses"] = "\n".join(a.address for a in self.instance.addresses.all())
        # A view-only page builds the form without the model's fields.
        overflow = self.fields.get("overflow_queue")
        if self.instance.pk and isinstance(overflow, forms.ModelChoiceField):
            overflow.queryset = Queue.objects.exclude(pk=self.instance.pk)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        lines = (cleaned.get("addresses") or "").splitlines()
        result = clean_addresses(
            lines,
            channel_type=cleaned.get("channel_type") or "chat",
            sms_sender_id=cleaned.get("sms_sender_id") or "",
            taken=partial(selectors.addresses_taken, exclude_queue_id=self.instance.pk),
            stored=[a.address for a in self.instance.addresses.all()] if self.instance.pk else [],
        )
        for index, problems in sorted(result.errors.items()):
            for problem in problems:
                self.add_error(
                    "addresses",
                    _("Line %(line)s: %(problem)s") % {"line": index + 1, "problem": problem},
                )
        for field, problems in result.field_errors.items():
            for problem in problems:
                self.add_error(field, problem)
        self.result = result
        return cleaned


def addresses_help() -> SafeString:
    """The addresses' help: their forms, and which Sinch channel each subchannel receives."""
    rows = format_html_join(
        "",
        '<tr><td class="mono">APPID@{}</td><td>{}</td><td class="mono">{}</td></tr>',
        ((s.name, s.label, s.sinch_channel) for s in SUBCHANNELS),
    )
    return format_html(
        "{}"
        '<table class="subchannels" id="subchannel-channels"><thead><tr>'
        "<th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
        _(
            "One per line. Chat: APPID@subchannel.sinchconversation.com (or APPID@subchannel), "
            "with the subchannel of the Sinch channel the queue receives, below. Phone: a "
            "number in international format or an extension."
        ),
        _("Address"),
        _("Channel"),
        _("Sinch channel it receives"),
        rows,
    )


@admin.register(Queue)
class QueueAdmin(
    AuditHistoryMixin, LargeTableAdminMixin, CheckedDeleteMixin, admin.ModelAdmin[Queue]
):
    """Queues with their addresses, waiting conversations and the oldest wait."""

    form = QueueForm
    # Thousands of queues: the overflow queue is chosen by searching, not from a select.
    autocomplete_fields = ["overflow_queue"]
    list_display = [
        "name",
        "channel_type",
        "address_list",
        "default_priority",
        "waiting",
        "oldest_wait",
        "overflow",
    ]
    list_filter = ["channel_type"]
    search_fields = ["name", "description", "addresses__address"]
    fieldsets = [
        (None, {"fields": ["name", "description", "channel_type", "default_priority"]}),
        (_("Addresses"), {"fields": ["addresses", "sms_sender_id"]}),
        (_("Overflow"), {"fields": ["max_waiting_time", "overflow_queue"]}),
    ]

    class Media:
        css = {"all": ["queues/admin/queue.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Queue]:
        if is_autocomplete(request):
            return Queue.objects.all()
        return selectors.queue_list()

    def autocomplete_label(self, obj: Queue) -> str:
        """How a queue reads in searchable selects: the channel type tells same names apart."""
        return f"{obj.name} ({obj.get_channel_type_display()})"

    def get_fieldsets(self, request: HttpRequest, obj: Queue | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # The addresses box is a form field for editing; a view-only page lists the stored ones.
        return [
            (
                name,
                {
                    **options,
                    "fields": [
                        "address_list" if field == "addresses" else field
                        for field in options["fields"]
                    ],
                },
            )
            for name, options in fieldsets
        ]

    @admin.display(description=_("addresses"))
    def address_list(self, obj: Queue) -> SafeString:
        return format_html_join(
            "", '<div class="mono">{}</div>', ((a.address,) for a in obj.addresses.all())
        )

    @admin.display(description=_("waiting"), ordering="waiting_contacts")
    def waiting(self, obj: Queue) -> int:
        return int(getattr(obj, "waiting_contacts", 0) or 0)

    @admin.display(description=_("oldest wait"), ordering="oldest_waiting_since")
    def oldest_wait(self, obj: Queue) -> str:
        since: datetime | None = getattr(obj, "oldest_waiting_since", None)
        return times.waited(since)

    @admin.display(description=_("overflow"))
    def overflow(self, obj: Queue) -> str:
        if obj.overflow_queue is None or obj.max_waiting_time is None:
            return "—"
        return str(
            _("→ %(queue)s after %(wait)s")
            % {"queue": obj.overflow_queue, "wait": times.duration(obj.max_waiting_time)}
        )

    def save_model(self, request: HttpRequest, obj: Queue, form: Any, change: bool) -> None:
        result = form.result
        services.queue_save(queue=obj, addresses=result.addresses if result else None)
        for notice in result.notices if result else []:
            messages.info(request, notice)
        warn(request, selectors.save_warnings(obj))

    def delete_problems(self, obj: Queue) -> list[str]:
        return services.queue_delete_problems(obj)

    def delete_model(self, request: HttpRequest, obj: Queue) -> None:
        services.queue_delete(queue=obj)
