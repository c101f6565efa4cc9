"""Every REST list: a fixed number of queries whatever its rows, and cursors that walk it whole.

The query budgets render each list with N rows and with 2N rows that differ in their relations
(other queues, agents, services, contacts, what an integration's `set` names), as NetBox's
query-count tests do, so that a query made per row shows as a difference.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from configurator import audit
from configurator.choices import AuditVia
from configurator.pagination import TrafficListPagination
from conversations.models import Contact, ContactEvent, Message
from integrations.models import Delivery, Integration
from integrations.services import integration_save
from tests.factories import (
    make_contact,
    make_integration,
)
from tests.shapes import Rows
from tests.sinch import fixture_body, post_callback

pytestmark = pytest.mark.django_db

N = 3


def _add_services(rows: Rows, n: int) -> str:
    for _ in range(n):
        rows.service()
    return "/api/v1/messaging-services/"


def _add_queues(rows: Rows, n: int) -> str:
    for _ in range(n):
        queue = rows.queue()
        if len(rows.queues) % 2:
            make_contact(queue, conversation_id=f"01WAITING{rows.made:017d}")
    return "/api/v1/queues/"


def _add_agents(rows: Rows, n: int) -> str:
    for _ in range(n):
        rows.agent()
    return "/api/v1/agents/"


def _add_contacts(rows: Rows, n: int) -> str:
    for _ in range(n):
        rows.contact()
    return "/api/v1/contacts/"


def _first_contact(rows: Rows) -> Contact:
    return rows.contacts[0] if rows.contacts else rows.contact()


def _add_messages(rows: Rows, n: int) -> str:
    contact = _first_contact(rows)
    for _ in range(n):
        Message.objects.create(
            contact=contact,
            direction="outbound",
            kind="text",
            text=f"Reply {rows.made}",
            agent=rows.agent() if rows.made % 2 else None,
        )
    return f"/api/v1/contacts/{contact.pk}/messages/"


def _add_events(rows: Rows, n: int) -> str:
    contact = _first_contact(rows)
    for i in range(n):
        ContactEvent.objects.create(
            contact=contact, event="queued", detail=f"again {i}", snapshot={"n": i}
        )
    return f"/api/v1/contacts/{contact.pk}/events/"


def _add_callbacks(rows: Rows, n: int) -> str:
    client = Client()
    for _ in range(n):
        service = rows.service()
        body = (
            fixture_body("message_delivery", message_delivery_report__message_id=f"M{rows.made}")
            if rows.made % 2
            else fixture_body("message_inbound", message__id=f"01HMSG{rows.made:020d}")
        )
        assert post_callback(client, service.pk, body).status_code == 200
    return "/api/v1/callbacks/"


def _add_integrations(rows: Rows, n: int) -> str:
    for _ in range(n):
        rows.routing_integration()
    return "/api/v1/integrations/"


def _add_deliveries(rows: Rows, n: int) -> str:
    integration = Integration.objects.filter(name="Listener").first() or make_integration(
        "Listener"
    )
    for _ in range(n):
        contact = rows.contact()
        event = contact.events.order_by("-occurred_at")[0]
        previous = Delivery.objects.filter(integration=integration).first()
        Delivery.objects.create(
            integration=integration,
            contact=contact,
            contact_event=event,
            event=event.event,
            mode="background",
            status="failed" if previous is None else "retrying",
            previous=previous if rows.made % 2 else None,
            request={"url": f"https://hooks.example.com/{contact.pk}"},
        )
    return f"/api/v1/integrations/{integration.pk}/deliveries/"


def _add_versions(rows: Rows, n: int) -> str:
    integration = Integration.objects.filter(name="Versioned").first() or make_integration(
        "Versioned"
    )
    for i in range(n):
        user = User.objects.create_user(f"editor-{rows.made}-{i}", is_staff=True)
        integration.description = f"edit {rows.made} {i}"
        with audit.via((AuditVia.API, AuditVia.ADMIN)[i % 2], actor=user):
            integration_save(integration=integration, queues=[rows.queue()])
    return f"/api/v1/integrations/{integration.pk}/versions/"


def _add_audit_entries(rows: Rows, n: int) -> str:
    """Entries on objects of several kinds, by different users, through different channels."""
    for _ in range(n):
        with audit.disabled():
            contact = rows.contact()
            user = User.objects.create_user(f"auditor-{rows.made}-{contact.pk}", is_staff=True)
        target = (contact, contact.queue or contact, user)[rows.made % 3]
        with audit.via(("admin", "api", "command")[rows.made % 3], actor=user):
            audit.record(operation="test_run", instance=target, detail={"n": rows.made})
    return "/api/v1/audit/"


# Every list the API serves, by its path in the schema.
LISTS: dict[str, Callable[[Rows, int], str]] = {
    "/api/v1/messaging-services/": _add_services,
    "/api/v1/queues/": _add_queues,
    "/api/v1/agents/": _add_agents,
    "/api/v1/contacts/": _add_contacts,
    "/api/v1/contacts/{id}/messages/": _add_messages,
    "/api/v1/contacts/{id}/events/": _add_events,
    "/api/v1/callbacks/": _add_callbacks,
    "/api/v1/integrations/": _add_integrations,
    "/api/v1/integrations/{id}/deliveries/": _add_deliveries,
    "/api/v1/integrations/{id}/versions/": _add_versions,
    "/api/v1/audit/": _add_audit_entries,
}
# Lists not read from the database: nothing to grow.
CONSTANT_LISTS = {"/api/v1/integrations/presets/"}


def _queries(api: APIClient, url: str, rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == rows
    return len(queries)


@pytest.mark.parametrize("path", list(LISTS))
def test_list_queries_do_not_grow_with_rows_of_other_shapes(path: str, api: APIClient) -> None:
    rows = Rows()
    baseline = len(_rows_before(api, LISTS[path](rows, 0)))
    url = LISTS[path](rows, N)
    with_n = _queries(api, url, baseline + N)
    url = LISTS[path](rows, N)
    assert _queries(api, url, baseline + 2 * N) == with_n


def _rows_before(api: APIClient, url: str) -> list[Any]:
    """Rows a list shows before any is added (an integration's deliveries list none)."""
    results: list[Any] = api.get(url).json()["results"]
    return results


def test_every_list_of_the_schema_has_a_query_budget_test(api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    lists = set()
    for path, operations in schema["paths"].items():
        answer = operations.get("get", {}).get("responses", {}).get("200", {})
        body = answer.get("content", {}).get("application/json", {}).get("schema", {})
        if body.get("type") == "array" or "Paginated" in body.get("$ref", ""):
            lists.add(path)
    assert lists == set(LISTS) | CONSTANT_LISTS


# --- pagination ---------------------------------------------------------------------------------

CURSOR_LISTS = {
    "/api/v1/callbacks/",
    "/api/v1/contacts/",
    "/api/v1/contacts/{id}/messages/",
    "/api/v1/contacts/{id}/events/",
    "/api/v1/integrations/{id}/deliveries/",
    "/api/v1/integrations/{id}/versions/",
    "/api/v1/audit/",
}


def test_the_schema_describes_each_lists_pagination(api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]
    for path in LISTS:
        operation = schema["paths"][path]["get"]
        parameters = {p["name"] for p in operation.get("parameters", [])}
        reference = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = components[reference.rsplit("/", 1)[1]]["properties"]
        if path in CURSOR_LISTS:
            assert "cursor" in parameters and "page" not in parameters, path
            assert set(page) == {"next", "previous", "results"}, path
        else:
            assert "page" in parameters and "cursor" not in parameters, path
            assert set(page) == {"count", "next", "previous", "results"}, path


def _walk(api: APIClient, url: str, between_pages: Callable[[], None]) -> list[Any]:
    """Every row `next` leads to, calling `between_pages` after each page."""
    seen: list[Any] = []
    pages = 0
    page_size = TrafficListPagination.page_size
    assert page_size is not None
    while url:
        pages += 1
        response = api.get(url)
        assert response.status_code == 200, response.content
        page = [row["id"] for row in response.json()["results"]]
        assert len(page) <= page_size
        seen += page
        url = response.json()["next"]
        between_pages()
    assert pages > 2, "the walk should take several pages"
    return seen


def test_walking_callbacks_by_next_sees_every_row_once_while_rows_arrive(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TrafficListPagination, "page_size", 4)
    rows = Rows()
    service = rows.service()
    client = Client()
    sent = iter(range(1000))

    def receive() -> None:
        body = fixture_body("message_inbound", message__id=f"01HMSG{next(sent):020d}")
        assert post_callback(client, service.pk, body).status_code == 200

    for _ in range(10):
        receive()
    before = list(service.callbacks.order_by("-received_at", "-id").values_list("pk", flat=True))

    # Two new callbacks after every page: they are newer than the walk, which goes on to
    # the oldest without skipping or repeating one.
    def receive_two() -> None:
        receive()
        receive()

    seen = _walk(api, "/api/v1/callbacks/", receive_two)
    assert seen == before


def test_walking_contacts_by_next_sees_every_row_once_while_rows_arrive(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TrafficListPagination, "page_size", 3)
    rows = Rows()
    queue = rows.queue()
    made = iter(range(1000))
    # Several contacts created in the same instant: the cursor keeps their order by ID.
    instant = timezone.now() - timedelta(hours=1)

    def open_contact(at: Any = None) -> None:
        contact = make_contact(queue, conversation_id=f"01CONVERSATION{next(made):012d}")
        if at is not None:
            Contact.objects.filter(pk=contact.pk).update(created=at)

    for i in range(8):
        open_contact(instant if i < 5 else None)
    before = list(Contact.objects.order_by("-created", "-id").values_list("pk", flat=True))
    seen = _walk(api, "/api/v1/contacts/", open_contact)
    assert seen == before


def test_walking_a_contacts_messages_oldest_first_ends_with_the_newest(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TrafficListPagination, "page_size", 2)
    rows = Rows()
    contact = rows.contact()

    def reply() -> None:
        Message.objects.create(contact=contact, direction="outbound", kind="text", text="Hi")

    for _ in range(4):
        reply()
    added = 0

    def reply_twice_then_stop() -> None:
        nonlocal added
        if added < 4:
            reply()
            reply()
            added += 2

    seen = _walk(api, f"/api/v1/contacts/{contact.pk}/messages/", reply_twice_then_stop)
    # Oldest first: the replies written during the walk come at its end, each once.
    assert seen == list(contact.messages.order_by("created_at", "id").values_list("pk", flat=True))


def test_cursor_lists_run_no_count(api: APIClient) -> None:
    rows = Rows()
    _add_deliveries(rows, 2)
    contact = rows.contacts[0]
    integration = Integration.objects.get(name="Listener")
    for url in (
        "/api/v1/callbacks/?status=pending",
        "/api/v1/contacts/?state=queued",
        f"/api/v1/contacts/{contact.pk}/messages/",
        f"/api/v1/contacts/{contact.pk}/events/",
        f"/api/v1/integrations/{integration.pk}/deliveries/?status=failed",
    ):
        with CaptureQueriesContext(connection) as queries:
            assert api.get(url).status_code == 200
        assert not [q for q in queries if "COUNT(" in q["sql"].upper()], url


def test_filtering_contacts_by_states_runs_no_distinct(api: APIClient) -> None:
    rows = Rows()
    rows.contact()
    rows.contact()
    for query, found in (("?state=queued", 1), ("?state=queued&state=allocated", 2)):
        with CaptureQueriesContext(connection) as queries:
            assert len(api.get(f"/api/v1/contacts/{query}").json()["results"]) == found
        assert not [q for q in queries if "DISTINCT" in q["sql"].upper()], query
