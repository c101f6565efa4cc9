"""Lists of tables that grow with traffic: every row reachable, no sort or filter that scans.

At a year of data (a million callbacks) a page's cost must not grow with the table: the count is
an estimate past a thousand rows (admin_counts), pages are served up to MAX_PAGES however short
the estimate, and only the columns and filters an index serves are offered or accepted.
"""

from __future__ import annotations

import pytest
from django.core.paginator import EmptyPage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from configurator import admin_counts
from configurator.admin_counts import EstimatedCountPaginator
from messaging.admin import CallbackAdmin
from messaging.models import Callback, MessagingService
from tests.factories import make_contact, make_queue, make_service

pytestmark = pytest.mark.django_db


def _callbacks(service: MessagingService, count: int) -> None:
    now = timezone.now()
    Callback.objects.bulk_create(
        Callback(
            service=service,
            nonce=f"n-{n}",
            signed_at=now,
            raw_body=b"{}",
            dedupe_key=f"k-{n}",
            trigger="MESSAGE_INBOUND",
            status="processed",
        )
        for n in range(count)
    )


def test_an_estimate_short_of_the_rows_leaves_none_out_of_reach(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The planner said 3 where there are 12: every page of 4 is still served, whole."""
    monkeypatch.setattr(admin_counts, "EXACT_UP_TO", 5)
    monkeypatch.setattr(admin_counts, "table_estimate", lambda queryset: 3)
    _callbacks(make_service(), 12)
    paginator = EstimatedCountPaginator(Callback.objects.order_by("id"), 4)

    assert paginator.count == 6  # never fewer than the rows just read (bounded count: 6)
    assert paginator.count_is_estimate
    pages = [list(paginator.page(n).object_list) for n in (1, 2, 3, 4)]
    assert [len(rows) for rows in pages] == [4, 4, 4, 0]
    assert len({row.pk for rows in pages for row in rows}) == 12
    with pytest.raises(EmptyPage, match="narrow the list"):
        paginator.page(admin_counts.MAX_PAGES + 1)
    assert paginator.page(admin_counts.MAX_PAGES).object_list is not None


def test_a_page_past_the_deepest_one_served_is_refused(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_counts, "EXACT_UP_TO", 2)
    monkeypatch.setattr(admin_counts, "plan_estimate", lambda queryset: 5)
    monkeypatch.setattr(admin_counts, "table_estimate", lambda queryset: 5)
    monkeypatch.setattr(CallbackAdmin, "list_per_page", 2)
    _callbacks(make_service(), 5)

    deep = admin_client.get(f"/admin/messaging/callback/?p={admin_counts.MAX_PAGES + 1}")
    served = admin_client.get(f"/admin/messaging/callback/?p={admin_counts.MAX_PAGES}")

    assert deep.status_code == 302 and "e=1" in deep["Location"]
    assert served.status_code == 200


def _order_by(client: Client, url: str) -> str:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    page = [q["sql"] for q in captured if 'FROM "messaging_callback"' in q["sql"]]
    page = [sql for sql in page if "ORDER BY" in sql]
    return page[-1].split("ORDER BY", 1)[1]


def test_big_lists_sort_only_by_the_columns_of_their_index(admin_client: Client) -> None:
    _callbacks(make_service(), 3)
    # list_display: id, received_at, service, trigger, app_id, status, ...
    by_status = _order_by(admin_client, "/admin/messaging/callback/?o=6")
    by_time = _order_by(admin_client, "/admin/messaging/callback/?o=2")
    html = admin_client.get("/admin/messaging/callback/").content.decode()

    assert '"status"' not in by_status and '"received_at"' in by_status
    assert '"received_at" ASC' in by_time
    assert "?o=6" not in html and "?o=2" in html


@pytest.mark.parametrize(
    "url",
    [
        "/admin/messaging/callback/?nonce__icontains=x",
        "/admin/messaging/callback/?status_reason__icontains=x",
        "/admin/conversations/contact/?agent__isnull=False",
        "/admin/integrations/delivery/?request__icontains=x",
        "/admin/conversations/contactevent/?snapshot__icontains=x",
    ],
)
def test_big_lists_refuse_filters_no_index_serves(admin_client: Client, url: str) -> None:
    assert admin_client.get(url).status_code == 400


def test_big_lists_take_their_filters_and_a_contact_s_links(admin_client: Client) -> None:
    contact = make_contact(make_queue())
    for url in (
        "/admin/messaging/callback/?status__exact=failed&trigger__exact=MESSAGE_INBOUND",
        "/admin/messaging/callback/?received_at__gte=2026-01-01+00:00:00%2B00:00",
        f"/admin/conversations/contact/?queue__id__exact={contact.queue_id}&state__exact=queued",
        f"/admin/integrations/delivery/?contact__id__exact={contact.pk}",
        f"/admin/conversations/message/?contact__id__exact={contact.pk}",
        f"/admin/conversations/contactevent/?contact__id__exact={contact.pk}&event__exact=queued",
    ):
        assert admin_client.get(url).status_code == 200, url


def test_select_all_says_about_when_the_count_is_an_estimate(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_counts, "EXACT_UP_TO", 2)
    monkeypatch.setattr(admin_counts, "table_estimate", lambda queryset: 5000)
    monkeypatch.setattr(CallbackAdmin, "list_per_page", 2)
    _callbacks(make_service(), 5)

    html = admin_client.get("/admin/messaging/callback/").content.decode()

    assert "Select all (about 5000) callbacks" in html
    assert "All (about 5000) selected" in html
