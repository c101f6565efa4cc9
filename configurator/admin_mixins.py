"""Behaviour shared by admin pages of several apps."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.admin import ShowFacets
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from configurator import retention
from configurator.admin_counts import EstimatedCountPaginator


class CheckedDeleteMixin:
    """Deletes one object at a time, refusing with the reasons while something depends on it.

    Subclasses say why an object may not go in `delete_problems`; the bulk "delete selected"
    action is removed, since it cannot say so per object.
    """

    def delete_problems(self, obj: Any) -> list[str]:
        return []

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request)  # type: ignore[misc]
        actions.pop("delete_selected", None)
        return actions

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)  # type: ignore[attr-defined]
        problems = self.delete_problems(obj) if obj is not None else []
        if problems:
            for problem in problems:
                messages.error(request, problem)
            meta = obj._meta
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[object_id])
            return HttpResponseRedirect(url)
        response: HttpResponse = super().delete_view(  # type: ignore[misc]
            request, object_id, extra_context
        )
        return response


class ReadOnlyRecordMixin:
    """A log's record (a callback received, a delivery): its page is read, never saved.

    The page of one record is Django's view-only page (no Save, "Save and continue" or "Save
    and add another"; a POST to it is refused), while the change permission still allows the
    list's actions on records (process again, send again), which Django checks without an
    object. A record is not deleted by hand: its delete page says that retention removes it
    after the days of `retention_setting`, rather than Django's page blaming permissions.
    """

    retention_setting = ""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None:
            return False
        allowed: bool = super().has_change_permission(request, obj)  # type: ignore[misc]
        return allowed

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        admin: Any = self
        obj = admin.get_object(request, unquote(object_id))
        if obj is None or admin.has_delete_permission(request, obj):
            response: HttpResponse = super().delete_view(  # type: ignore[misc]
                request, object_id, extra_context
            )
            return response
        if not admin.has_view_permission(request, obj):
            raise PermissionDenied
        context = {
            **admin.admin_site.each_context(request),
            "opts": admin.opts,
            "object": obj,
            "title": _("%(name)s are kept, not deleted")
            % {"name": capfirst(admin.opts.verbose_name_plural)},
            "retention": retention.notice(admin.model),
            "retention_setting": self.retention_setting,
        }
        return TemplateResponse(request, "admin/record_kept.html", context)


class BoundedLookupsMixin:
    """A changelist lookup out of any range is a bad lookup (Django redirects with ?e=1).

    Django turns a ValueError of the lookups into IncorrectLookupParameters, but not an
    OverflowError: a date drill-down such as `?received_at__year=99999999999` (beyond a C long,
    which `datetime` raises OverflowError for) would otherwise be a 500.
    """

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        try:
            changelist: ChangeList = super().get_changelist_instance(  # type: ignore[misc]
                request
            )
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc
        return changelist


def pretty_json(value: Any) -> SafeString:
    """JSON as an indented block on an admin page (escaped)."""
    return format_html(
        '<pre class="json">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False, default=str)
    )


SIMULATED_BADGE_STYLE = (
    "display:inline-block;padding:0 6px;border-radius:8px;background:#6c4ba3;color:#fff;"
    "font-size:0.8em;font-weight:600;white-space:nowrap"
)


def simulated_badge(simulated: bool) -> SafeString:
    """The mark of a row the simulator made (callback, contact, delivery); nothing otherwise.

    One mark for every list and page that shows such rows, so that they all look alike.
    """
    if not simulated:
        return SafeString()
    return format_html(
        '<span class="simulated-badge" style="{}" title="{}">{}</span>',
        SIMULATED_BADGE_STYLE,
        _("Made by the simulator, not sent by Sinch."),
        _("simulated"),
    )


class LargeTableAdminMixin:
    """A changelist of a table that grows with traffic: no full-table count on a page view.

    The count shown is exact up to a thousand rows and PostgreSQL's estimate beyond
    (`admin_counts`); the "N total" beside a search, and the facet counts Django can add to
    every filter choice, are full-table counts and so are off.
    """

    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    # Columns the list never shows and that can be large (a callback's body, up to 1 MiB):
    # not read for a page of a hundred rows.
    list_defer: tuple[str, ...] = ()
    # A table that grows with traffic (callbacks, contacts, their rows, deliveries), as opposed
    # to one an administrator fills (queues, agents): its list sorts only by the columns of its
    # own ordering, and a URL filters it only by its list_filter fields and `extra_lookups`,
    # each served by an index. Any other sort or filter would read and sort the whole table on
    # every page view (Django allows sorting by any column and filtering by any local field).
    grows_with_traffic = False
    # Fields a URL may filter such a list by besides its list_filter, e.g. the "all N" links of
    # a contact's page (`?contact__id__exact=`).
    extra_lookups: tuple[str, ...] = ()

    def get_sortable_by(self, request: HttpRequest) -> Any:
        sortable = super().get_sortable_by(request)  # type: ignore[misc]
        if not self.grows_with_traffic:
            return sortable
        ordering = self.get_ordering(request) or self.model._meta.ordering  # type: ignore[attr-defined]
        columns = {str(field).lstrip("-") for field in ordering}
        return [name for name in sortable if name in columns]

    def lookup_allowed(self, lookup: str, value: str, request: Any = None) -> bool:
        allowed: bool = super().lookup_allowed(lookup, value, request)  # type: ignore[misc]
        if not allowed or not self.grows_with_traffic:
            return allowed
        fields = set(self.extra_lookups)
        for item in self.list_filter:  # type: ignore[attr-defined]
            if isinstance(item, str):
                fields.add(item)
            elif isinstance(item, tuple | list):
                fields.add(str(item[0]))
            else:  # a SimpleListFilter: its parameter
                fields.add(str(getattr(item, "parameter_name", "")))
        return lookup.split(LOOKUP_SEP, 1)[0] in {name.split(LOOKUP_SEP, 1)[0] for name in fields}

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        base: type[ChangeList] = super().get_changelist(request, **kwargs)  # type: ignore[misc]
        deferred = self.list_defer
        only_sortable = self.grows_with_traffic

        class LargeTableChangeList(base):  # type: ignore[valid-type,misc]
            def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
                queryset = super().get_queryset(request, exclude_parameters)
                return queryset.defer(*deferred) if deferred else queryset

            def get_ordering(self, request: HttpRequest, queryset: Any) -> list[Any]:
                # Django offers only sortable columns' headers, but sorts by any `?o=` index.
                if only_sortable and ORDER_VAR in self.params:
                    kept = [
                        part
                        for part in str(self.params[ORDER_VAR]).split(".")
                        if _column(self.list_display, part) in self.sortable_by
                    ]
                    if kept:
                        self.params[ORDER_VAR] = ".".join(kept)
                    else:
                        del self.params[ORDER_VAR]
                ordering: list[Any] = super().get_ordering(request, queryset)
                return ordering

        return LargeTableChangeList

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: Any,
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> EstimatedCountPaginator:
        return EstimatedCountPaginator(queryset, per_page, orphans, allow_empty_first_page)


def _column(list_display: Any, part: str) -> str | None:
    """The list_display entry an `?o=` part (`-3`) names, or None."""
    index = part.rpartition("-")[2]
    if not index.isdigit() or int(index) >= len(list_display):
        return None
    return str(list_display[int(index)])


def is_autocomplete(request: HttpRequest) -> bool:
    """Whether the request is the admin's autocomplete search (a select's choices by name).

    Its answer lists plain rows: a changelist's per-row figures would only make it slower.
    """
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name == "autocomplete"
