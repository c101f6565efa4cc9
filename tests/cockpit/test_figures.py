"""Each figure of the home page counts the rows made here, and its link lists the same rows."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from cockpit.rollup import rollup
from configurator.models import WorkerHeartbeat
from conversations.models import Contact
from integrations.models import Integration
from messaging.models import Callback, MessagingService
from messaging.webhooks.processing import callbacks_process_pending
from tests.cockpit import rows
from tests.factories import make_contact, make_integration, make_queue
from tests.sinch import fixture_body, post_callback

pytestmark = pytest.mark.django_db

APP = "01E4556565565ERKYO"


def figure(page: str, key: str) -> tuple[str, str]:
    """The value a figure shows and the URL it links to."""
    match = re.search(
        rf'id="figure-{re.escape(key)}">\s*<dt>[^<]*</dt>\s*<dd><a class="value" href="([^"]+)">'
        r"([^<]+)</a>",
        page,
    )
    assert match, f"no figure {key}"
    return html.unescape(match.group(2)), html.unescape(match.group(1))


def listed(client: Client, url: str) -> set[Any]:
    """The primary keys of the rows the admin list at `url` shows (filters applied, one page)."""
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.context_data is not None
    changelist = response.context_data["cl"]
    return {obj.pk for obj in changelist.result_list}


def home(client: Client) -> str:
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


def test_conversations_waiting_per_queue_with_the_oldest_wait(admin_client_: Client) -> None:
    busy = make_queue("Busy", [f"{APP}@whatsapp"])
    quiet = make_queue("Quiet", [f"{APP}@telegram"])
    busy_contacts = [make_contact(busy, identity=f"4670000000{n}") for n in range(3)]
    quiet_contact = make_contact(quiet, identity="46709999999")
    taken = make_contact(busy, identity="46708888888")
    Contact.objects.filter(pk=taken.pk).update(waiting_since=None, state="accepted")
    Contact.objects.filter(pk=busy_contacts[0].pk).update(
        waiting_since=timezone.now() - timedelta(seconds=95)
    )

    page = home(admin_client_)

    value, url = figure(page, "waiting-total")
    assert value == "4"
    assert listed(admin_client_, url) == {c.pk for c in [*busy_contacts, quiet_contact]}
    rows_html = page[page.index('id="card-waiting"') : page.index('id="card-callbacks"')]
    assert rows_html.index("Busy") < rows_html.index("Quiet")  # busiest first
    busy_row = re.search(r'id="row-queue-\d+">\s*<th scope="row"><a href="([^"]+)">Busy</a>', page)
    assert busy_row
    assert listed(admin_client_, html.unescape(busy_row.group(1))) == {c.pk for c in busy_contacts}
    # Waiting times under two minutes in seconds.
    assert re.search(r">Busy</a></th>\s*<td>3</td><td>1 min 3[5-9] s</td>", page)


def test_callbacks_of_the_last_hour_by_status(
    admin_client_: Client, service: MessagingService
) -> None:
    now = timezone.now()
    processed = [rows.callback(service, status="processed") for _ in range(3)]
    failed = [rows.callback(service, status="failed", at=now - timedelta(minutes=50))]
    pending = [rows.callback(service, status="pending", simulated=True)]
    rows.callback(service, status="processed", at=now - timedelta(minutes=70))

    page = home(admin_client_)

    for status, made in [("processed", processed), ("failed", failed), ("pending", pending)]:
        value, url = figure(page, f"callbacks-{status}")
        assert value == str(len(made))
        assert listed(admin_client_, url) == {c.pk for c in made}
    assert figure(page, "callbacks-ignored")[0] == "0"
    assert "of which 1 simulated" in page


def test_unrouted_messages_name_their_address_and_offer_the_queue(
    admin_client_: Client, client: Client, service: MessagingService
) -> None:
    # A customer's message for which no queue exists, through the real webhook and worker.
    assert post_callback(client, service.pk, fixture_body("message_inbound")).status_code == 200
    callbacks_process_pending()
    real = Callback.objects.get()
    assert real.reason_code == "no_queue"
    address = f"{APP}@whatsapp.sinchconversation.com"
    earlier = rows.unrouted(
        service, "01OTHERAPP@telegram.sinchconversation.com", at=timezone.now() - timedelta(hours=3)
    )
    rows.callback(service, status="failed", status_reason="something else")

    before = home(admin_client_)
    # Three hours ago is not counted live: until the workers count it, the page says so.
    assert figure(before, "unrouted-total")[0] == "1"
    assert "hours not counted yet" in before

    rollup()
    page = home(admin_client_)

    value, url = figure(page, "unrouted-total")
    assert value == "2"
    assert listed(admin_client_, url) == {real.pk, earlier.pk}
    card = page[page.index('id="card-unrouted"') :]
    assert card.index(address) < card.index("01OTHERAPP@telegram")
    encoded = address.replace("@", "%40")
    assert f'href="/admin/queues/queue/add/?channel_type=chat&amp;addresses={encoded}"' in card
    # The link fills in the address on the queue's form.
    form = admin_client_.get(f"/admin/queues/queue/add/?channel_type=chat&addresses={address}")
    assert address in form.content.decode()

    # Once the address has a queue, its messages stay counted but no queue is offered again.
    make_queue("Support", [address])
    card = home(admin_client_)
    card = card[card.index('id="card-unrouted"') :]
    assert f"addresses={encoded}" not in card
    assert "now reaches “Support”" in card


def test_integrations_paused_or_failing(admin_client_: Client) -> None:
    paused = make_integration("Paused one")
    failing = make_integration("Failing one")
    make_integration("Fine one")
    Integration.objects.filter(pk=paused.pk).update(
        paused_at=timezone.now(), consecutive_failures=20
    )
    Integration.objects.filter(pk=failing.pk).update(consecutive_failures=3)

    page = home(admin_client_)

    value, url = figure(page, "integrations-paused")
    assert value == "1" and listed(admin_client_, url) == {paused.pk}
    value, url = figure(page, "integrations-failing")
    assert value == "1" and listed(admin_client_, url) == {failing.pk}
    assert f'href="/admin/integrations/integration/{paused.pk}/change/">Paused one</a>' in page


def test_deliveries_success_rate_and_95th_percentile(admin_client_: Client) -> None:
    integration = make_integration()
    contact = make_contact(make_queue(addresses=[f"{APP}@whatsapp"]))
    made: dict[str, list[int]] = {"succeeded": [], "failed": [], "retrying": []}
    statuses = ["succeeded"] * 18 + ["failed", "retrying"]
    for n, status in enumerate(statuses):
        # Durations 10..200 ms, in no particular order of status.
        made[status].append(
            rows.delivery(integration, contact, status=status, duration_ms=10 * (20 - n)).pk
        )
    rows.delivery(integration, contact, status="skipped")
    rows.delivery(
        integration,
        contact,
        status="failed",
        duration_ms=9000,
        at=timezone.now() - timedelta(hours=2),
    )

    page = home(admin_client_)

    value, url = figure(page, "deliveries-success")
    assert value == "90%"
    assert "18 of 20 attempts that ended" in page
    assert listed(admin_client_, url) == set(made["succeeded"])
    value, url = figure(page, "deliveries-failed")
    assert value == "1" and listed(admin_client_, url) == set(made["failed"])
    # Nearest rank: 95 % of the 20 timed attempts took 190 ms or less.
    assert figure(page, "deliveries-p95")[0] == "190 ms"


def test_worker_heartbeat(admin_client_: Client) -> None:
    now = timezone.now()
    live = WorkerHeartbeat.objects.create(
        worker_id="host:1", hostname="host", pid=1, started_at=now, seen_at=now
    )
    gone = WorkerHeartbeat.objects.create(
        worker_id="host:2",
        hostname="host",
        pid=2,
        started_at=now,
        seen_at=now - timedelta(minutes=10),
    )

    page = home(admin_client_)

    value, url = figure(page, "workers-live")
    assert value == "1"
    assert f"last heartbeat {timezone.localtime(now):%Y-%m-%d %H:%M:%S} UTC" in page
    assert listed(admin_client_, url) == {live.pk, gone.pk}


def test_backlog(admin_client_: Client, service: MessagingService) -> None:
    pending = [rows.callback(service, status="pending") for _ in range(2)]
    rows.callback(service, status="processed")
    integration = make_integration()
    contact = make_contact(make_queue(addresses=[f"{APP}@whatsapp"]))
    due = rows.delivery(integration, contact, status="pending")
    later = rows.delivery(
        integration, contact, status="pending", due_at=timezone.now() + timedelta(minutes=5)
    )
    now = timezone.now()
    task = DBTaskResult.objects.create(
        status="READY",
        args_kwargs={"args": [], "kwargs": {}},
        task_path="messaging.wake.process_callbacks",
        backend_name="default",
        queue_name="default",
        run_after=now,
    )

    page = home(admin_client_)

    value, url = figure(page, "backlog-callbacks")
    assert value == "2" and listed(admin_client_, url) == {c.pk for c in pending}
    value, url = figure(page, "backlog-deliveries")
    assert value == "1"
    assert "1 scheduled for a retry" in page
    assert listed(admin_client_, url) == {due.pk, later.pk}  # pending: due and scheduled
    value, url = figure(page, "backlog-tasks")
    assert value == "1" and listed(admin_client_, url) == {task.pk}
