"""How API lists are paged: cursors for the lists that grow with traffic, pages for the others.

Lists of configuration (messaging services, queues, agents, integrations) keep DRF's page
numbers (`count`, `next`, `previous`, `results`; `?page=N`, the REST_FRAMEWORK default): their
size is what administrators set up, a total is useful, and counting them is cheap.

Lists that grow with traffic (callbacks, contacts, a contact's messages and events, an
integration's deliveries) are paged with DRF's CursorPagination (`next`, `previous`, `results`;
`?cursor=`): each page is one `ORDER BY <indexed column> LIMIT` query that starts where the last
one ended, so a page costs the same at a million rows as at a hundred, no `COUNT(*)` is run, and
a client walking `next` sees every row exactly once while new rows are added (new rows come
before the first page of a newest-first list, or after the last page of an oldest-first one).
"""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class TrafficListPagination(CursorPagination):
    """Cursor pagination over an ordering whose first column is indexed for every filter."""

    # The position is the first column; the others only break its ties, so that rows with the
    # same time come in one order on every page (DRF counts them into the cursor's offset).
    ordering: tuple[str, ...] = ("-id",)


def cursor_pagination(*ordering: str) -> type[TrafficListPagination]:
    """A cursor pagination class for one list, ordered by these fields (first one indexed)."""
    name = "CursorPagination_" + "_".join(field.lstrip("-") for field in ordering)
    return type(name, (TrafficListPagination,), {"ordering": ordering})
