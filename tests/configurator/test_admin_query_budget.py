"""Admin pages run a fixed number of queries, whatever the rows (NetBox's query-count tests).

Each page is rendered with N rows and again with 2N, the second N differing in their relations
(other services, queues, agents, integrations, users), so that a query made per row, or per
related object, shows as a difference. The integrations changelist is covered with the REST
API lists, by their own tests. Every page the admin registers must be here:
`test_every_registered_admin_has_budget_tests` reads the registry the way the API's schema test
reads the schema.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from configurator import audit
from configurator.models import AuditEntry, WorkerHeartbeat
from configurator.tokens import api_token_create
from conversations.models import Contact, ContactEvent, Message
from integrations.models import Delivery, Integration, IntegrationAuthentication
from messaging.models import Callback, MessagingService, ServiceAuthentication
from queues.models import Queue
from tests.factories import (
    make_agent,
    make_contact,
    make_integration,
    make_outbound_message,
    make_queue,
    make_service,
    outbound,
)

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)
N = 3


def _queries(client: Client, url: str) -> int:
    """Queries of one request of the page, once per-process caches (content types) are warm."""
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def _callback(service: MessagingService, **fields: str) -> Callback:
    n = next(_serial)
    return Callback.objects.create(
        service=service,
        nonce=f"nonce-{n}",
        signed_at=timezone.now(),
        raw_body=b'{"app_id": "X"}',
        dedupe_key=f"key-{n}",
        message_id=f"01MSG{n:020d}",
        **fields,
    )


def _task_result(status: str, path: str = "messaging.tasks.process_callbacks") -> DBTaskResult:
    now = timezone.now()
    finished = status in {"SUCCESSFUL", "FAILED"}
    return DBTaskResult.objects.create(
        status=status,
        args_kwargs={"args": [], "kwargs": {"n": next(_serial)}},
        task_path=path,
        backend_name="default",
        queue_name="default",
        run_after=now,
        started_at=now if status != "READY" else None,
        finished_at=now if finished else None,
        exception_class_path="builtins.ValueError" if status == "FAILED" else "",
        traceback="Traceback: ValueError" if status == "FAILED" else "",
    )


def _login_records(round_: int, i: int) -> None:
    """An attempt, a failure and a login, from an address and user of this round."""
    address = f"10.{round_}.{i}.{next(_serial) % 250}"
    common = {"user_agent": f"agent {round_}", "ip_address": address, "path_info": "/admin/login/"}
    AccessAttempt.objects.create(
        **common,
        username=f"user-{round_}",
        get_data="",
        post_data="username=x",
        failures_since_start=1 + i + 5 * round_,
    )
    AccessFailureLog.objects.create(**common, username=f"nobody-{round_}", locked_out=bool(i % 2))
    AccessLog.objects.create(
        **common, username=f"user-{round_}", logout_time=timezone.now() if i % 2 else None
    )


def _heartbeat(round_: int) -> WorkerHeartbeat:
    n = next(_serial)
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        worker_id=f"host-{round_}:{n}",
        hostname=f"host-{round_}",
        pid=n,
        started_at=now,
        seen_at=now - timedelta(minutes=n % 5),
    )


def _rows(round_: int) -> None:
    """N rows of every kind, whose relations differ from those of the other round."""
    apps = [f"01BUDGET{round_}{i}{next(_serial):09d}" for i in range(1 + round_)]
    service = make_service(authentications=[outbound(app) for app in apps])
    previous = Queue.objects.order_by("-pk").first()
    user = User.objects.create_user(f"user-{round_}", is_staff=True)
    group = Group.objects.create(name=f"Group {round_}")
    group.permissions.set(Permission.objects.order_by("pk")[round_ * 4 : round_ * 4 + 3])
    user.groups.add(group)
    integration = make_integration(authentications={f"key-{round_}": "s"})
    for i in range(N):
        queue = make_queue(
            addresses=[f"{apps[0]}@whatsapp", f"{apps[0]}@telegram"] if i == 0 else None,
            overflow_queue=previous,
            max_waiting_time=timedelta(minutes=5) if previous else None,
        )
        previous = queue
        agent = make_agent(queues=[queue] * (i % 2) + [previous])
        contact = make_contact(queue, identity=f"4670{round_}{i}{next(_serial):05d}")
        if i % 2:
            Contact.objects.filter(pk=contact.pk).update(agent=agent, state="allocated")
        message = make_outbound_message(contact, f"01OUT{next(_serial):020d}")
        Message.objects.filter(pk=message.pk).update(agent=agent)
        event = ContactEvent.objects.filter(contact=contact).first()
        assert event is not None
        first = Delivery.objects.create(
            integration=integration,
            contact=contact,
            contact_event=event,
            event=event.event,
            mode="background",
            status="failed",
        )
        Delivery.objects.create(
            integration=integration,
            contact=contact,
            contact_event=event,
            event=event.event,
            mode="background",
            status="succeeded",
            attempt=2,
            previous=first,
        )
        _callback(service, trigger="MESSAGE_INBOUND", status="processed", app_id=apps[0])
        _callback(service, trigger="MESSAGE_DELIVERY", status="failed", status_reason="x")
        api_token_create(user=user)
        _task_result(("SUCCESSFUL", "FAILED", "READY")[i], f"queues.tasks.t{round_}")
        _login_records(round_, i)
        _heartbeat(round_)
        with audit.via(("admin", "api", "command")[i], actor=user):
            queue.name = f"{queue.name} (renamed)"
            queue.save()
            audit.record(operation="test_run", instance=integration, detail={"round": round_})
            audit.record(operation="allocate", instance=contact, detail={"agent": agent.pk})


CHANGELISTS = [
    "/admin/",
    "/admin/messaging/messagingservice/",
    "/admin/messaging/callback/",
    "/admin/messaging/callback/?status__exact=failed",
    "/admin/messaging/callback/?trigger__exact=MESSAGE_INBOUND",
    "/admin/queues/queue/",
    "/admin/queues/queue/?q=Queue",
    "/admin/conversations/contact/",
    "/admin/conversations/contact/?state__exact=queued",
    "/admin/conversations/contact/?channel_sub_type=whatsapp",
    "/admin/conversations/agent/",
    "/admin/conversations/contactevent/",
    "/admin/conversations/message/",
    "/admin/integrations/delivery/",
    "/admin/integrations/delivery/?status__exact=failed",
    "/admin/configurator/apitoken/",
    "/admin/configurator/workerheartbeat/",
    "/admin/auth/user/",
    "/admin/auth/group/",
    "/admin/django_tasks_database/dbtaskresult/",
    "/admin/django_tasks_database/dbtaskresult/?status__exact=FAILED",
    "/admin/axes/accessattempt/",
    "/admin/axes/accessattempt/?q=10.0.0.1",
    "/admin/axes/accessattempt/?q=user-0",
    "/admin/axes/accesslog/",
    "/admin/axes/accessfailurelog/",
    "/admin/configurator/auditentry/",
    "/admin/configurator/auditentry/?operation=test_run",
    "/admin/configurator/auditentry/?via__exact=api",
    "/admin/configurator/auditentry/?q=1",
]


@pytest.mark.parametrize("url", CHANGELISTS)
def test_changelist_queries_do_not_grow_with_rows(admin_client_: Client, url: str) -> None:
    _rows(0)
    with_n = _queries(admin_client_, url)
    _rows(1)

    assert _queries(admin_client_, url) == with_n


GROWING_THIRD_PARTY_LISTS = [
    "/admin/django_tasks_database/dbtaskresult/",
    "/admin/django_tasks_database/dbtaskresult/?status__exact=FAILED",
    "/admin/axes/accessattempt/",
    "/admin/axes/accessattempt/?q=user-0",
    "/admin/axes/accesslog/",
    "/admin/axes/accessfailurelog/",
]


@pytest.mark.parametrize("url", GROWING_THIRD_PARTY_LISTS)
def test_third_party_lists_read_no_whole_table(admin_client_: Client, url: str) -> None:
    """Task results and login records grow with traffic or an attack: their pages, unlike the
    packages' own, count at most a bounded subquery and ask for no DISTINCT, MIN or MAX."""
    _rows(0)
    admin_client_.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = admin_client_.get(url)

    assert response.status_code == 200
    for sql in (q["sql"].upper() for q in captured.captured_queries):
        assert "DISTINCT" not in sql and "MIN(" not in sql and "MAX(" not in sql, sql
        assert "COUNT(" not in sql or "LIMIT" in sql, sql


@pytest.mark.parametrize(
    "url",
    [
        "/admin/django_tasks_database/dbtaskresult/?queue_name__exact=default",
        "/admin/django_tasks_database/dbtaskresult/?task_path__icontains=x",
        "/admin/axes/accessattempt/?path_info__exact=/admin/login/",
        "/admin/axes/accessattempt/?attempt_time__year=2026",
        "/admin/axes/accessfailurelog/?locked_out__exact=1",
    ],
)
def test_third_party_lists_refuse_filters_no_index_serves(admin_client_: Client, url: str) -> None:
    assert admin_client_.get(url).status_code == 400


def test_third_party_lists_sort_only_by_an_indexed_column(admin_client_: Client) -> None:
    _rows(0)
    tasks = admin_client_.get("/admin/django_tasks_database/dbtaskresult/").content.decode()
    attempts = admin_client_.get("/admin/axes/accessattempt/").content.decode()
    with CaptureQueriesContext(connection) as captured:
        admin_client_.get("/admin/django_tasks_database/dbtaskresult/?o=2")  # status

    # list_display: id, task_name, status, enqueued_at, ... (no actions: no checkbox column)
    assert "?o=3" in tasks and "?o=2" not in tasks
    assert "?o=" not in attempts
    page = [q["sql"] for q in captured.captured_queries if "ORDER BY" in q["sql"]]
    assert page and '"status" ASC' not in page[-1] and '"enqueued_at" DESC' in page[-1]


def test_filters_by_one_related_object_do_not_grow_with_rows(admin_client_: Client) -> None:
    _rows(0)
    queue = Queue.objects.order_by("pk").first()
    service = MessagingService.objects.order_by("pk").first()
    integration = Integration.objects.order_by("pk").first()
    assert queue and service and integration
    urls = [
        f"/admin/conversations/contact/?queue__id__exact={queue.pk}",
        f"/admin/conversations/agent/?queues__id__exact={queue.pk}",
        f"/admin/messaging/callback/?service__id__exact={service.pk}",
        f"/admin/integrations/delivery/?integration__id__exact={integration.pk}",
    ]
    with_n = [_queries(admin_client_, url) for url in urls]
    _rows(1)

    assert [_queries(admin_client_, url) for url in urls] == with_n


def _grow_contact(contact: Contact, round_: int) -> None:
    """N more messages, events and deliveries on the contact, by other agents/integrations."""
    integration = make_integration(authentications={f"k{round_}": "s"})
    for i in range(N):
        agent = make_agent()
        message = make_outbound_message(contact, f"01OUT{next(_serial):020d}")
        Message.objects.filter(pk=message.pk).update(agent=agent)
        event = ContactEvent.objects.create(
            contact=contact, event="queued", snapshot={"queue": {"name": f"Q{i}"}}
        )
        Delivery.objects.create(
            integration=integration,
            contact=contact,
            contact_event=event,
            event="queued",
            mode="background",
            status="succeeded",
            applied={"save": ["crm"]},
        )


def _grow_service(service: MessagingService, round_: int) -> None:
    for i in range(N):
        app = f"01GROW{round_}{i}{next(_serial):09d}"
        ServiceAuthentication.objects.create(
            service=service,
            direction="outbound",
            authentication_id=f"key-{app}@{app}",
            key_id=f"key-{app}",
            app_id=app,
            secret="s",
        )


def _grow_integration(integration: Integration, round_: int) -> None:
    for i in range(N):
        IntegrationAuthentication.objects.create(
            integration=integration, authentication_id=f"k-{round_}-{i}", secret="s"
        )
        integration.queues.add(make_queue())


def _contact_page() -> tuple[str, Callable[[int], object]]:
    contact = make_contact(make_queue())
    return (
        f"/admin/conversations/contact/{contact.pk}/change/",
        lambda r: _grow_contact(contact, r),
    )


def _service_page() -> tuple[str, Callable[[int], object]]:
    service = make_service()
    return (
        f"/admin/messaging/messagingservice/{service.pk}/change/",
        lambda r: _grow_service(service, r),
    )


def _integration_page() -> tuple[str, Callable[[int], object]]:
    integration = make_integration(authentications={"basic:me": "s"})
    return (
        f"/admin/integrations/integration/{integration.pk}/change/",
        lambda r: _grow_integration(integration, r),
    )


def _agent_page() -> tuple[str, Callable[[int], object]]:
    agent = make_agent()
    return (
        f"/admin/conversations/agent/{agent.pk}/change/",
        lambda r: agent.queues.add(*[make_queue() for _ in range(N)]),
    )


def _queue_page() -> tuple[str, Callable[[int], object]]:
    queue = make_queue()
    return (
        f"/admin/queues/queue/{queue.pk}/change/",
        lambda r: [
            make_queue(overflow_queue=queue, max_waiting_time=timedelta(1)) for _ in range(N)
        ],
    )


def _callback_page() -> tuple[str, Callable[[int], object]]:
    service = make_service()
    callback = _callback(service, trigger="MESSAGE_INBOUND", status="processed")
    return (
        f"/admin/messaging/callback/{callback.pk}/change/",
        lambda r: [_callback(make_service(), trigger="EVENT_INBOUND") for _ in range(N)],
    )


def _delivery_page() -> tuple[str, Callable[[int], object]]:
    contact = make_contact(make_queue())
    event = ContactEvent.objects.filter(contact=contact).first()
    assert event is not None
    integration = make_integration()
    first = Delivery.objects.create(
        integration=integration,
        contact=contact,
        contact_event=event,
        event=event.event,
        mode="background",
        status="failed",
    )

    chain = [first]

    def grow(round_: int) -> None:
        # More attempts of the same delivery (each follows the last: one follower per row), by
        # other integrations' rows around it.
        for i in range(N):
            chain.append(
                Delivery.objects.create(
                    integration=make_integration(),
                    contact=contact,
                    contact_event=event,
                    event=event.event,
                    mode="background",
                    status="failed",
                    attempt=2 + i + N * round_,
                    previous=chain[-1],
                )
            )

    return f"/admin/integrations/delivery/{first.pk}/change/", grow


def _contact_event_page() -> tuple[str, Callable[[int], object]]:
    contact = make_contact(make_queue())
    event = ContactEvent.objects.filter(contact=contact).first()
    assert event is not None
    return (
        f"/admin/conversations/contactevent/{event.pk}/change/",
        lambda r: _grow_contact(contact, r),
    )


def _message_page() -> tuple[str, Callable[[int], object]]:
    contact = make_contact(make_queue())
    message = make_outbound_message(contact, f"01OUT{next(_serial):020d}")
    return (
        f"/admin/conversations/message/{message.pk}/change/",
        lambda r: _grow_contact(contact, r),
    )


def _user_page() -> tuple[str, Callable[[int], object]]:
    user = User.objects.create_user(f"grown-{next(_serial)}", is_staff=True)

    def grow(round_: int) -> None:
        for i in range(N):
            group = Group.objects.create(name=f"G{round_}-{i}-{next(_serial)}")
            group.permissions.set(Permission.objects.order_by("pk")[i : i + 2])
            user.groups.add(group)
        user.user_permissions.add(*Permission.objects.order_by("-pk")[round_ * N : round_ * N + N])
        api_token_create(user=user)

    return f"/admin/auth/user/{user.pk}/change/", grow


def _group_page() -> tuple[str, Callable[[int], object]]:
    group = Group.objects.create(name="Supervisors")

    def grow(round_: int) -> None:
        group.permissions.add(*Permission.objects.order_by("pk")[round_ * N : round_ * N + N])
        for _ in range(N):
            User.objects.create_user(f"member-{next(_serial)}").groups.add(group)

    return f"/admin/auth/group/{group.pk}/change/", grow


def _api_token_page() -> tuple[str, Callable[[int], object]]:
    user = User.objects.create_user(f"owner-{next(_serial)}", is_staff=True)
    token, _key = api_token_create(user=user)

    def grow(round_: int) -> None:
        for _ in range(N):
            api_token_create(user=user)
            api_token_create(user=User.objects.create_user(f"other-{next(_serial)}"))

    return f"/admin/configurator/apitoken/{token.pk}/change/", grow


def _audit_entry_page() -> tuple[str, Callable[[int], object]]:
    queue = make_queue()
    entry = AuditEntry.objects.get_for_object(queue).get()

    def grow(round_: int) -> None:
        user = User.objects.create_user(f"auditor-{next(_serial)}")
        with audit.via("admin", actor=user):
            for i in range(N):
                queue.name = f"Renamed {round_}-{i}"
                queue.save()

    return f"/admin/configurator/auditentry/{entry.pk}/change/", grow


def _worker_page() -> tuple[str, Callable[[int], object]]:
    worker = _heartbeat(9)
    return (
        f"/admin/configurator/workerheartbeat/{worker.pk}/change/",
        lambda r: [_heartbeat(r) for _ in range(N)],
    )


def _task_result_page() -> tuple[str, Callable[[int], object]]:
    result = _task_result("FAILED")
    return (
        f"/admin/django_tasks_database/dbtaskresult/{result.pk}/change/",
        lambda r: [_task_result(s) for s in ("SUCCESSFUL", "FAILED", "RUNNING")],
    )


def _login_record_page(
    model: type[AccessAttempt | AccessLog | AccessFailureLog],
) -> Callable[[], tuple[str, Callable[[int], object]]]:
    def page() -> tuple[str, Callable[[int], object]]:
        _login_records(9, 0)
        record = model.objects.order_by("pk").first()
        assert record is not None

        def grow(round_: int) -> None:
            for i in range(N):
                _login_records(round_, i)

        return f"/admin/axes/{model._meta.model_name}/{record.pk}/change/", grow

    return page


# Per registered model ("app_label.model_name"): a page of one object, and what makes it bigger.
CHANGE_PAGES: dict[str, Callable[[], tuple[str, Callable[[int], object]]]] = {
    "conversations.contact": _contact_page,
    "conversations.contactevent": _contact_event_page,
    "conversations.message": _message_page,
    "conversations.agent": _agent_page,
    "messaging.messagingservice": _service_page,
    "messaging.callback": _callback_page,
    "integrations.integration": _integration_page,
    "integrations.delivery": _delivery_page,
    "queues.queue": _queue_page,
    "auth.user": _user_page,
    "auth.group": _group_page,
    "configurator.apitoken": _api_token_page,
    "configurator.workerheartbeat": _worker_page,
    "configurator.auditentry": _audit_entry_page,
    "django_tasks_database.dbtaskresult": _task_result_page,
    "axes.accessattempt": _login_record_page(AccessAttempt),
    "axes.accesslog": _login_record_page(AccessLog),
    "axes.accessfailurelog": _login_record_page(AccessFailureLog),
}
# Changelists whose budget is tested elsewhere (with the API lists, by the same N-vs-2N rule).
CHANGELISTS_TESTED_ELSEWHERE = {
    "integrations.integration": "tests/integrations/test_admin_list_queries.py",
    "configurator.configurationtransfer": "tests/transfer/test_query_budget.py",
}
# Admin pages that are no list of objects (no change page exists), tested where named.
PAGES_WITHOUT_OBJECTS = {
    "configurator.configurationtransfer": "tests/transfer/test_query_budget.py"
}


def test_every_registered_admin_has_budget_tests() -> None:
    """A page added to the admin without a query-budget test fails here, not in production."""
    registered = {
        f"{model._meta.app_label}.{model._meta.model_name}" for model in admin.site._registry
    }
    listed = {
        "{}.{}".format(*url.split("?")[0].strip("/").split("/")[1:3])
        for url in CHANGELISTS
        if url.count("/") >= 4
    }
    without_changelist = registered - listed - set(CHANGELISTS_TESTED_ELSEWHERE)
    without_change_page = registered - set(CHANGE_PAGES) - set(PAGES_WITHOUT_OBJECTS)

    assert not without_changelist, f"no changelist budget test: {sorted(without_changelist)}"
    assert not without_change_page, f"no change-page budget test: {sorted(without_change_page)}"
    assert not set(CHANGE_PAGES) - registered, "a change page of a model no longer registered"


@pytest.mark.parametrize("model", sorted(CHANGE_PAGES))
def test_change_page_queries_do_not_grow_with_its_rows(admin_client_: Client, model: str) -> None:
    url, grow = CHANGE_PAGES[model]()
    grow(0)
    with_n = _queries(admin_client_, url)
    grow(1)

    assert _queries(admin_client_, url) == with_n


def test_forms_choose_queues_and_agents_by_search_not_from_a_list(admin_client_: Client) -> None:
    """A select listing every queue or agent would be a page of 10,000 options."""
    queue = make_queue("Support")
    others = [make_queue(f"Listed nowhere {i}") for i in range(3)]
    agent = make_agent("Anna", queues=[queue])
    make_agent("Agent listed nowhere")
    contact = make_contact(queue)
    integration = make_integration(queues=[queue])
    pages = [
        f"/admin/conversations/contact/{contact.pk}/change/",
        f"/admin/conversations/agent/{agent.pk}/change/",
        "/admin/conversations/agent/add/",
        f"/admin/queues/queue/{queue.pk}/change/",
        "/admin/queues/queue/add/",
        f"/admin/integrations/integration/{integration.pk}/change/",
        "/admin/conversations/contact/",
    ]
    for url in pages:
        html = admin_client_.get(url).content.decode()
        assert "listed nowhere" not in html.lower(), url
        assert others[0].name not in html, url
    html = admin_client_.get(pages[0]).content.decode()
    assert "admin-autocomplete" in html
    assert 'data-model-name="contact"' in html


def test_autocomplete_labels_queues_with_their_channel_type(admin_client_: Client) -> None:
    make_queue("Support")
    make_queue("Hotline", ["+3581234"], channel_type="phone")
    answer = admin_client_.get(
        "/admin/autocomplete/",
        {"app_label": "integrations", "model_name": "integration", "field_name": "queues"},
    ).json()

    assert [r["text"] for r in answer["results"]] == ["Hotline (Phone)", "Support (Chat)"]
    agents = admin_client_.get(
        "/admin/autocomplete/",
        {
            "app_label": "conversations",
            "model_name": "contact",
            "field_name": "agent",
            "term": "An",
        },
    )
    assert agents.status_code == 200


def test_contact_page_shows_the_newest_rows_and_links_to_all(admin_client_: Client) -> None:
    contact = make_contact(make_queue())
    for _ in range(9):
        _grow_contact(contact, 0)  # 1 + 27 messages, 2 + 27 events, 27 deliveries

    html = admin_client_.get(f"/admin/conversations/contact/{contact.pk}/change/").content.decode()

    assert f"/admin/conversations/message/?contact__id__exact={contact.pk}" in html
    assert f"/admin/conversations/contactevent/?contact__id__exact={contact.pk}" in html
    assert f"/admin/integrations/delivery/?contact__id__exact={contact.pk}" in html
    assert "20 of 28 shown: all messages" in html
    assert "20 of 29 shown: all contact events" in html
    assert "20 of 27 shown: all deliveries" in html
    events = admin_client_.get(
        f"/admin/conversations/contactevent/?contact__id__exact={contact.pk}"
    )
    assert "29 contact events" in events.content.decode()


def test_lists_count_exactly_when_small(admin_client_: Client) -> None:
    _rows(0)
    html = admin_client_.get("/admin/messaging/callback/").content.decode()
    assert f"{2 * N} callbacks" in html
    assert "about" not in html.split('class="paginator"')[1]


def test_big_lists_show_postgresql_estimates_beyond_a_bounded_count(
    admin_client_: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past EXACT_UP_TO rows a list says "about N" from PostgreSQL's statistics (plan or
    pg_class) instead of counting the table; SQLite, which has none, counts."""
    monkeypatch.setattr("configurator.admin_counts.EXACT_UP_TO", 5)
    service = make_service()
    for _ in range(12):
        _callback(service, trigger="MESSAGE_INBOUND", status="processed")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE messaging_callback")

    whole = admin_client_.get("/admin/messaging/callback/").content.decode()
    filtered = admin_client_.get("/admin/messaging/callback/?status__exact=processed")

    paginator = whole.split('class="paginator"')[1]
    if connection.vendor == "postgresql":
        assert "about 12 callbacks" in paginator
        assert "about" in filtered.content.decode().split('class="paginator"')[1]
    else:
        assert "12 callbacks" in paginator and "about" not in paginator
    assert filtered.status_code == 200
