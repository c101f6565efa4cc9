"""Behaviour shared by admin pages of several apps."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.admin import ShowFacets
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

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

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        base: type[ChangeList] = super().get_changelist(request, **kwargs)  # type: ignore[misc]
        deferred = self.list_defer
        if not deferred:
            return base

        class DeferringChangeList(base):  # type: ignore[valid-type,misc]
            def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
                return super().get_queryset(request, exclude_parameters).defer(*deferred)

        return DeferringChangeList

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: Any,
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> EstimatedCountPaginator:
        return EstimatedCountPaginator(queryset, per_page, orphans, allow_empty_first_page)


def is_autocomplete(request: HttpRequest) -> bool:
    """Whether the request is the admin's autocomplete search (a select's choices by name).

    Its answer lists plain rows: a changelist's per-row figures would only make it slower.
    """
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name == "autocomplete"
