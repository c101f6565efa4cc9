"""Counts for admin lists of big tables: exact when small, the planner's estimate when large.

A changelist shows how many rows it lists, and Django counts them with `COUNT(*)`: on a table of
a million callbacks that reads the whole table (or index) on every page view, and the cost
grows with the table. Here a count reads at most `EXACT_UP_TO + 1` rows; past that the page says
"about N", N being PostgreSQL's own figure: `pg_class.reltuples` (kept by autovacuum/ANALYZE) for
the whole table, or the row estimate of the query's plan (EXPLAIN, which runs nothing) when the
list is filtered. SQLite has no such figures and demo-sized tables: there the count is exact.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.translation import gettext as _

# Up to this many rows a list's count is exact (reading them is cheap); beyond, estimated.
EXACT_UP_TO = 1000
# The deepest page a list with an estimated count serves: a page is an OFFSET, whose cost grows
# with its number (page 10,000 of the callbacks reads a million index entries). Past it, a
# filter or a search narrows the list (the period filters reach any day).
MAX_PAGES = 100


def table_estimate(queryset: QuerySet[Any]) -> int | None:
    """PostgreSQL's estimate of the rows of the queryset's table, or None where there is none."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    # -1 means the table was never analysed: no figure to trust.
    return int(row[0]) if row and row[0] >= 0 else None


def plan_estimate(queryset: QuerySet[Any]) -> int | None:
    """The row estimate of the planner for the queryset (EXPLAIN: nothing is run)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def bounded_count(queryset: QuerySet[Any], limit: int) -> int:
    """The rows of the queryset, counting no further than `limit` (so at most limit + 1)."""
    return queryset.order_by().values("pk")[: limit + 1].count()


class EstimatedCountPaginator(Paginator):  # type: ignore[type-arg]
    """A paginator whose count reads at most EXACT_UP_TO + 1 rows, then trusts PostgreSQL.

    `count_is_estimate` tells the template to say "about".
    """

    count_is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)
        exact = bounded_count(queryset, EXACT_UP_TO)
        if exact <= EXACT_UP_TO:
            return exact
        filtered = queryset.query.has_filters() or queryset.query.distinct
        estimate = plan_estimate(queryset) if filtered else table_estimate(queryset)
        if estimate is None:
            return int(queryset.count())
        self.count_is_estimate = True
        # The estimate may be below what was just read: never show fewer than that.
        return max(estimate, exact)

    def validate_number(self, number: int | float | str) -> int:
        """Any page up to MAX_PAGES when the count is an estimate: the estimate may be short of
        the rows there are, and none of them may be out of reach because of it."""
        self.count  # noqa: B018 - decides count_is_estimate
        if not self.count_is_estimate:
            return int(super().validate_number(number))
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            page = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from exc
        if page < 1:
            raise EmptyPage(self.error_messages["min_page"])
        if page > MAX_PAGES:
            raise EmptyPage(
                _("Pages past %(max)d are not shown: narrow the list with a filter or a search.")
                % {"max": MAX_PAGES}
            )
        return page

    def page(self, number: int | float | str) -> Page[Any]:
        """The page's rows, not cut at the estimate (a page past the last row is empty)."""
        page = self.validate_number(number)
        if not self.count_is_estimate:
            return super().page(page)
        bottom = (page - 1) * self.per_page
        return Page(self.object_list[bottom : bottom + self.per_page], page, self)

    def get_elided_page_range(
        self, number: int | float | str = 1, *, on_each_side: int = 3, on_ends: int = 2
    ) -> Any:
        """Without the last pages when the count is an estimate: they may not exist."""
        pages = list(
            super().get_elided_page_range(number, on_each_side=on_each_side, on_ends=on_ends)
        )
        if not self.count_is_estimate:
            return pages
        current = self.validate_number(number)
        last = min(current + on_each_side, MAX_PAGES)
        shown = [p for p in pages if not isinstance(p, int) or p <= last]
        while shown and not isinstance(shown[-1], int):
            shown.pop()
        return [*shown, self.ELLIPSIS]
