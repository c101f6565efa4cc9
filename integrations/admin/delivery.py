"""Admin pages: the delivery log (Conversations > Deliveries), and a contact's deliveries.

A delivery carries its contact's data (the rendered request, the answer, what it changed): users
without the permission to view customers' personal data see the log without them, and are told why.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from configurator import times
from configurator.admin_mixins import (
    BoundedLookupsMixin,
    LargeTableAdminMixin,
    ReadOnlyRecordMixin,
    pretty_json,
    simulated_badge,
)
from conversations.admin_inlines import LatestRowsFormSet, LatestRowsInline
from conversations.permissions import can_view_personal_data
from integrations import dispatch, selectors
from integrations.models import Delivery

ERROR_SHOWN = 120
# Fields of the delivery page that show the contact or data made from it.
CONTACT_DATA_FIELDS = ("contact_link", "pretty_request", "response_excerpt", "pretty_applied")


def _short(text: str) -> str:
    return text if len(text) <= ERROR_SHOWN else text[: ERROR_SHOWN - 1] + "…"


@admin.register(Delivery)
class DeliveryAdmin(
    ReadOnlyRecordMixin, LargeTableAdminMixin, BoundedLookupsMixin, admin.ModelAdmin[Delivery]
):
    """Every attempt of every integration: what was sent (secrets masked), answer and effect."""

    list_display = [
        "created_at",
        "integration",
        "event",
        "contact_link",
        "status_line",
        "attempt",
        "error_short",
        "simulated_badge",
    ]
    # Filters an index serves (integrations_dlv_status, _event, _intg; the period filter reads
    # the newest rows); no date hierarchy, whose years and months are a DISTINCT over every row.
    list_filter = ["status", "event", "integration", "created_at", "simulated"]
    grows_with_traffic = True
    extra_lookups = ("contact",)  # a contact's page links to its deliveries
    # An exact contact ID (indexed); the integration is chosen with its filter.
    search_fields = ["contact__id__exact"]
    search_help_text = _(
        "An exact contact ID (with the permission to view customers' personal data)."
    )
    list_select_related = ["integration"]
    list_defer = ("request", "response_excerpt", "applied")
    actions = ["send_again"]
    fields = [
        ("integration", "event", "contact_link"),
        ("mode", "status", "attempt", "previous"),
        ("created_at", "due_at", "finished_at"),
        ("status_code", "duration_ms", "simulated"),
        "error",
        "pretty_request",
        "response_excerpt",
        "pretty_applied",
    ]
    readonly_fields = flatten(fields)  # the log is read, never edited
    retention_setting = "DELIVERIES_RETENTION_DAYS"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return selectors.delivery_list()

    def get_list_display(self, request: HttpRequest) -> Any:
        shown = super().get_list_display(request)
        if can_view_personal_data(request.user):
            return shown
        return [name for name in shown if name not in CONTACT_DATA_FIELDS]

    def get_search_fields(self, request: HttpRequest) -> Any:
        if can_view_personal_data(request.user):
            return super().get_search_fields(request)
        return []

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Delivery], search_term: str
    ) -> tuple[QuerySet[Delivery], bool]:
        if search_term and not can_view_personal_data(request.user):
            # No search box for them; a `q` typed into the address finds nothing, so that it
            # cannot tell whether a contact had deliveries.
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_fields(request, obj)
        if can_view_personal_data(request.user):
            return fields
        return [*_without_contact_data(fields), "contact_data_hidden"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*flatten(self.get_fields(request, obj))]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("contact"), ordering="contact_id")
    def contact_link(self, obj: Delivery) -> SafeString:
        url = reverse("admin:conversations_contact_change", args=[obj.contact_id])
        return format_html('<a href="{}">{}</a>', url, obj.contact_id)

    @admin.display(description=_("error or reason"))
    def error_short(self, obj: Delivery) -> str:
        return _short(obj.error)

    @admin.display(description=_("simulated"))
    def simulated_badge(self, obj: Delivery) -> SafeString:
        return simulated_badge(obj.simulated)

    @admin.display(description=_("status"))
    def status_line(self, obj: Delivery) -> str:
        """Status, HTTP status code and duration in one column, so the list fits a laptop."""
        return status_summary(obj)

    @admin.display(description=_("contact data"))
    def contact_data_hidden(self, obj: Delivery) -> str:
        return str(
            _(
                "Hidden: the contact, the request made from its data, the answer and what it "
                "changed need the permission to view customers' personal data."
            )
        )

    @admin.display(description=_("request (secrets masked)"))
    def pretty_request(self, obj: Delivery) -> SafeString:
        return pretty_json(obj.request)

    @admin.display(description=_("applied to the contact"))
    def pretty_applied(self, obj: Delivery) -> SafeString:
        return pretty_json(obj.applied) if obj.applied else format_html("{}", "—")

    def has_resend_permission(self, request: HttpRequest) -> bool:
        # Sending again is the integration's work, as its page's and the API's resend: who may
        # change the integration may (the log itself is never changed).
        return request.user.has_perm("integrations.change_integration")

    @admin.action(description=_("Send selected failed deliveries again"), permissions=["resend"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        """A bounded first batch now; with "select all" the rest goes on in the background."""
        resent = dispatch.deliveries_resend(selection=queryset)
        messages.success(
            request,
            _("%(count)s delivery(ies) will be sent again.") % {"count": len(resent.scheduled)},
        )
        if resent.more:
            messages.info(
                request,
                _(
                    "More of the selection is sent again in the background, %(batch)s at a "
                    "time: the list shows them as they are scheduled."
                )
                % {"batch": dispatch.RESEND_BATCH},
            )
            return
        ticked = len(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
        # Rows ticked one by one are a page at most; "select all" is not counted.
        if request.POST.get("select_across") != "1" and len(resent.scheduled) < ticked:
            messages.warning(
                request,
                _(
                    "%(count)s were not sent again: only failed background deliveries that "
                    "were not sent again before can be."
                )
                % {"count": ticked - len(resent.scheduled)},
            )


def status_summary(delivery: Delivery) -> str:
    """ "Failed · 503 · 10.0 s": the status in words, the endpoint's answer code, how long."""
    parts = [str(delivery.get_status_display())]
    if delivery.status_code:
        parts.append(str(delivery.status_code))
    if delivery.duration_ms is not None:
        ms = delivery.duration_ms
        parts.append(f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s")
    return " · ".join(parts)


def _attempt_number(delivery: Delivery) -> str:
    """ "#2", or "#1 (sent again)" for the first attempt of a resend."""
    if delivery.previous_id and delivery.attempt == 1:
        return str(_("#1 (sent again)"))
    return f"#{delivery.attempt}"


def _without_contact_data(fields: Any) -> list[Any]:
    """The fieldset rows (names or tuples of names) without the contact-data fields."""
    kept: list[Any] = []
    for row in fields:
        if isinstance(row, list | tuple):
            rest = tuple(name for name in row if name not in CONTACT_DATA_FIELDS)
            if rest:
                kept.append(rest)
        elif row not in CONTACT_DATA_FIELDS:
            kept.append(row)
    return kept


# Earlier attempts read for the deliveries a contact's page shows (one query); a delivery sent
# again and again has at most this many of its attempts listed (every one is in the list that
# "all deliveries" opens).
EARLIER_ATTEMPTS_READ = 500


class DeliveryRowsFormSet(LatestRowsFormSet):
    """The contact's latest attempts, each with the attempts before it (`chain`, oldest first)."""

    def get_queryset(self) -> Any:
        if not hasattr(self, "_latest"):
            latest = super().get_queryset()
            if any(row.previous_id for row in latest):
                _chains_attach(latest)
        return self._latest


def _chains_attach(latest: list[Delivery]) -> None:
    """Set `chain` on each latest attempt: its delivery's attempts, oldest first.

    A retry or resend keeps the integration and the contact event of the attempt it follows
    (`previous`), so the earlier attempts of the rows shown are read at once by those, then
    linked by `previous`.
    """
    earlier = {
        row.pk: row
        for row in Delivery.objects.filter(
            contact_id=latest[0].contact_id,
            contact_event_id__in={row.contact_event_id for row in latest},
            integration_id__in={row.integration_id for row in latest},
        )
        .exclude(pk__in=[row.pk for row in latest])
        .only("pk", "attempt", "status", "status_code", "duration_ms", "created_at", "previous_id")
        .order_by("-id")[:EARLIER_ATTEMPTS_READ]
    }
    for row in latest:
        chain = [row]
        while chain[-1].previous_id in earlier:
            chain.append(earlier.pop(chain[-1].previous_id))
        row.chain = chain[::-1]  # type: ignore[attr-defined]


class DeliveryInline(LatestRowsInline):
    """On the contact's page: what integrations did on its events, one row per delivery.

    A retry or a resend is a new row that points at the attempt it follows (`previous`, unique),
    so a delivery's latest attempt is the row nothing follows yet: the inline has a row for
    each of those (found with the contact's index and the anti-join on the `previous` index),
    listing the delivery's attempts oldest first, numbered, each linked (one more query for all
    of them, `_chains_attach`): three queries however many retries.
    """

    model = Delivery
    fk_name = "contact"
    list_url_name = "admin:integrations_delivery_changelist"
    newest_first = ("-created_at", "-id")
    fields = ["when", "integration", "event", "mode", "status", "attempts", "outcome", "link"]
    readonly_fields = [
        "when",
        "integration",
        "event",
        "mode",
        "status",
        "attempts",
        "outcome",
        "link",
    ]
    verbose_name_plural = _("Integration deliveries (newest first, with their attempts)")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset: Any = super().get_formset(request, obj, **kwargs)
        # Same settings, the delivery-aware formset (LatestRowsInline passes its own).
        return type("DeliveryRows", (DeliveryRowsFormSet, formset), {})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return (
            super()
            .get_queryset(request)
            .filter(~Exists(Delivery.objects.filter(previous=OuterRef("pk"))))
            .select_related("integration")
        )

    @admin.display(description=_("time"))
    def when(self, obj: Delivery) -> str:
        return times.moment(obj.created_at)

    @admin.display(description=_("attempts"))
    def attempts(self, obj: Delivery) -> SafeString:
        """Every attempt of the delivery, oldest first: number, status, time, link."""
        chain: list[Delivery] = getattr(obj, "chain", [obj])
        return format_html(
            '<ol class="delivery-attempts">{}</ol>',
            format_html_join(
                "",
                '<li><a href="{}">{}</a> {} <span class="attempt-time">{}</span></li>',
                (
                    (
                        reverse("admin:integrations_delivery_change", args=[row.pk]),
                        _attempt_number(row),
                        status_summary(row),
                        times.moment(row.created_at),
                    )
                    for row in chain
                ),
            ),
        )

    @admin.display(description=_("outcome"))
    def outcome(self, obj: Delivery) -> str:
        parts = [str(obj.status_code)] if obj.status_code else []
        if obj.applied:
            parts.append(
                ", ".join(f"{key}: {', '.join(value)}" for key, value in obj.applied.items())
            )
        if obj.error:
            parts.append(_short(obj.error))
        return " · ".join(parts) or "—"

    @admin.display(description="")
    def link(self, obj: Delivery) -> SafeString:
        url = reverse("admin:integrations_delivery_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("details"))
