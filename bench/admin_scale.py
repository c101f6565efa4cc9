"""Admin pages and API lists at a year's volumes: queries and time per page, in-process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_admin_big \\
    SECRET_KEY=... SECRETS_ENCRYPTION_KEYS=<the keys the data was seeded with> \\
    .venv/bin/python bench/admin_scale.py [--runs 5] [--only callback] [--json out.json]

Run it against a database filled by `manage.py seed_demo --scale large` (10,000 queues,
100,000 contacts, 1,000,000 callbacks, 200,000 deliveries, 600,000 task results, five contacts
with 500 more events and messages each). Every changelist registered in the admin (with its
common filters and searches by exact Sinch ids), each sorted by each column it can be sorted by
(`?o=`, read from the page's own headers), the deepest page a big list serves (`?p=`), the
change pages with inlines (a busy contact's among them, where the latest-rows cap matters), the
add pages whose forms choose a queue or an agent, the autocomplete searches for queues and
agents, the admin index, and every REST API list with its main filters are requested with
Django's test client in this process, logged in as a superuser (a session for the admin, a token
for the API): no web server, no network, so the figures are the view's own cost, database
included. A changelist the admin registers but the bench does not list fails the run. Each
page is requested once to warm caches and then --runs times; the table shows the status, the
queries of one request, the median time and the slowest query's time. The bench adds one
superuser (`bench-admin`) and one API token to the database.
The CPUs are shared: run it when `uptime` shows a low load, and say the load with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib import admin  # noqa: E402
from django.contrib.admin.templatetags.admin_list import result_headers  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.template.response import SimpleTemplateResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402

from configurator import admin_counts  # noqa: E402
from configurator.tokens import api_token_create  # noqa: E402
from conversations.models import Agent, Contact, ContactEvent, Message  # noqa: E402
from integrations.models import Delivery, Integration  # noqa: E402
from messaging.models import Callback, MessagingService  # noqa: E402
from queues.models import Queue  # noqa: E402


@dataclass
class Result:
    """One page: its status, queries per request, median and slowest-query times (ms)."""

    label: str
    url: str
    status: int
    queries: int
    median_ms: float
    slowest_query_ms: float


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed requests per page (median)")
    parser.add_argument("--only", default="", help="only pages whose label contains this")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args()


def samples() -> dict[str, Any]:
    """Ids the pages need, taken from the middle of the data (not the newest rows)."""
    callback = Callback.objects.order_by("pk")[Callback.objects.order_by("-pk")[0].pk // 2 :][0]
    contacts = Contact.objects.filter(queue__isnull=False, state="ended").order_by("pk")
    contact = contacts[contacts.count() // 2]
    delivery = Delivery.objects.order_by("pk")[Delivery.objects.count() // 2]
    # seed_demo's busy contacts: hundreds of events, messages and deliveries each.
    busy = Message.objects.filter(sinch_message_id__startswith="DEMOBUSY").first()
    tasks = DBTaskResult.objects.order_by("-enqueued_at")
    return {
        "busy": busy.contact if busy else contact,
        "event": ContactEvent.objects.filter(contact=contact).order_by("pk")[0],
        "message": Message.objects.filter(contact=contact).order_by("pk")[0],
        "task": tasks[tasks.count() // 2] if tasks.exists() else None,
        "callback": callback,
        "contact": contact,
        "delivery": delivery,
        "queue": Queue.objects.order_by("pk")[Queue.objects.count() // 2],
        "overflowing": Queue.objects.filter(overflow_queue__isnull=False).order_by("pk")[0],
        "service": MessagingService.objects.order_by("pk")[0],
        "agent": Agent.objects.order_by("pk")[Agent.objects.count() // 2],
        "integration": Integration.objects.order_by("pk")[1],
        # As the home page writes it (quoted: the offset's "+").
        "hour_ago": quote((timezone.now() - timedelta(hours=1)).replace(microsecond=0).isoformat()),
    }


def admin_pages(s: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, URL) of every admin page the bench requests."""
    cb, contact, delivery = s["callback"], s["contact"], s["delivery"]
    queue, service, agent = s["queue"], s["service"], s["agent"]
    integration = s["integration"]
    a = "/admin"
    return [
        ("admin index", f"{a}/"),
        ("admin services", f"{a}/messaging/messagingservice/"),
        ("admin service page", f"{a}/messaging/messagingservice/{service.pk}/change/"),
        ("admin callbacks", f"{a}/messaging/callback/"),
        ("admin callbacks ?status=failed", f"{a}/messaging/callback/?status__exact=failed"),
        (
            "admin callbacks ?trigger=",
            f"{a}/messaging/callback/?trigger__exact=MESSAGE_INBOUND",
        ),
        ("admin callbacks ?service=", f"{a}/messaging/callback/?service__id__exact={service.pk}"),
        ("admin callbacks search message id", f"{a}/messaging/callback/?q={cb.message_id}"),
        ("admin callbacks search conversation", f"{a}/messaging/callback/?q={cb.conversation_id}"),
        ("admin callback page", f"{a}/messaging/callback/{cb.pk}/change/"),
        ("admin queues", f"{a}/queues/queue/"),
        ("admin queues search", f"{a}/queues/queue/?q={queue.name}"),
        ("admin queue page", f"{a}/queues/queue/{s['overflowing'].pk}/change/"),
        ("admin queue add", f"{a}/queues/queue/add/"),
        ("admin contacts", f"{a}/conversations/contact/"),
        ("admin contacts ?state=queued", f"{a}/conversations/contact/?state__exact=queued"),
        ("admin contacts ?queue=", f"{a}/conversations/contact/?queue__id__exact={queue.pk}"),
        ("admin contacts search id", f"{a}/conversations/contact/?q={contact.pk}"),
        (
            "admin contacts search conversation",
            f"{a}/conversations/contact/?q={contact.sinch_conversation_id}",
        ),
        ("admin contact page", f"{a}/conversations/contact/{contact.pk}/change/"),
        ("admin agents", f"{a}/conversations/agent/"),
        ("admin agents ?queue=", f"{a}/conversations/agent/?queues__id__exact={queue.pk}"),
        ("admin agent page", f"{a}/conversations/agent/{agent.pk}/change/"),
        ("admin agent add", f"{a}/conversations/agent/add/"),
        ("admin integrations", f"{a}/integrations/integration/"),
        ("admin integration page", f"{a}/integrations/integration/{integration.pk}/change/"),
        ("admin deliveries", f"{a}/integrations/delivery/"),
        ("admin deliveries ?status=failed", f"{a}/integrations/delivery/?status__exact=failed"),
        (
            "admin deliveries ?integration=",
            f"{a}/integrations/delivery/?integration__id__exact={integration.pk}",
        ),
        ("admin deliveries search contact", f"{a}/integrations/delivery/?q={delivery.contact_id}"),
        ("admin delivery page", f"{a}/integrations/delivery/{delivery.pk}/change/"),
        ("admin API tokens", f"{a}/configurator/apitoken/"),
        ("admin workers", f"{a}/configurator/workerheartbeat/"),
        # The lists the home page's figures link to.
        ("admin contacts ?waiting=yes", f"{a}/conversations/contact/?waiting=yes"),
        (
            "admin contacts ?waiting&queue=",
            f"{a}/conversations/contact/?waiting=yes&queue__id__exact={queue.pk}",
        ),
        (
            "admin callbacks ?reason=no_queue",
            f"{a}/messaging/callback/?reason_code__exact=no_queue",
        ),
        (
            "admin callbacks ?status&last hour",
            f"{a}/messaging/callback/?status__exact=processed&received_at__gte={s['hour_ago']}",
        ),
        (
            "admin deliveries ?status&last hour",
            f"{a}/integrations/delivery/?status__exact=failed&created_at__gte={s['hour_ago']}",
        ),
        ("admin integrations ?health=paused", f"{a}/integrations/integration/?health=paused"),
        ("admin contact page (busy)", f"{a}/conversations/contact/{s['busy'].pk}/change/"),
        ("admin contact events", f"{a}/conversations/contactevent/"),
        (
            "admin contact events ?contact=",
            f"{a}/conversations/contactevent/?contact__id__exact={s['busy'].pk}",
        ),
        ("admin contact event page", f"{a}/conversations/contactevent/{s['event'].pk}/change/"),
        ("admin messages", f"{a}/conversations/message/"),
        (
            "admin messages ?contact=",
            f"{a}/conversations/message/?contact__id__exact={s['busy'].pk}",
        ),
        ("admin message page", f"{a}/conversations/message/{s['message'].pk}/change/"),
        (
            "admin deliveries ?contact=",
            f"{a}/integrations/delivery/?contact__id__exact={s['busy'].pk}",
        ),
        ("admin task results", f"{a}/django_tasks_database/dbtaskresult/"),
        (
            "admin task results ?status=FAILED",
            f"{a}/django_tasks_database/dbtaskresult/?status__exact=FAILED",
        ),
        *(
            [
                (
                    "admin task result page",
                    f"{a}/django_tasks_database/dbtaskresult/{s['task'].pk}/change/",
                )
            ]
            if s["task"]
            else []
        ),
        ("admin login attempts", f"{a}/axes/accessattempt/"),
        ("admin login attempts search IP", f"{a}/axes/accessattempt/?q=10.1.2.3"),
        ("admin login attempts search user", f"{a}/axes/accessattempt/?q=user42"),
        ("admin login failures", f"{a}/axes/accessfailurelog/"),
        ("admin logins", f"{a}/axes/accesslog/"),
        ("admin users", f"{a}/auth/user/"),
        ("admin groups", f"{a}/auth/group/"),
        (
            "admin autocomplete queues",
            f"{a}/autocomplete/?app_label=integrations&model_name=integration&field_name=queues",
        ),
        (
            "admin autocomplete queues term",
            f"{a}/autocomplete/?app_label=integrations&model_name=integration"
            f"&field_name=queues&term={queue.name[:6]}",
        ),
        (
            "admin autocomplete agents",
            f"{a}/autocomplete/?app_label=conversations&model_name=contact&field_name=agent",
        ),
        (
            "admin autocomplete agents term",
            f"{a}/autocomplete/?app_label=conversations&model_name=contact"
            f"&field_name=agent&term={agent.name[:4]}",
        ),
    ]


def changelists_unlisted(pages: list[tuple[str, str]]) -> list[str]:
    """Changelists the admin registers that `admin_pages` does not request."""
    listed = {url.split("?")[0] for _, url in pages}
    return [
        f"/admin/{m._meta.app_label}/{m._meta.model_name}/"
        for m in admin.site._registry
        if f"/admin/{m._meta.app_label}/{m._meta.model_name}/" not in listed
    ]


def sorted_and_deep_pages(client: Client, pages: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each changelist sorted by each column its headers offer, and its deepest page.

    The sortable columns are read from the page itself (the links of its column headers), so
    what an administrator can click is what is measured. The deepest page is the last one, but
    no deeper than the MAX_PAGES a list with an estimated count serves (admin_counts).
    """
    found: list[tuple[str, str]] = []
    for label, url in pages:
        path = url.split("?")[0]
        if "?" in url or not path.endswith("/") or path.count("/") != 4:
            continue  # a filtered list, a change page or the index
        response = client.get(url)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is None:
            continue
        for header in result_headers(changelist):
            if header["sortable"]:
                found.append((f"{label} ?o={header['text']}", f"{path}{header['url_primary']}"))
        paginator = changelist.paginator
        deepest = min(paginator.num_pages, admin_counts.MAX_PAGES)
        if deepest > 1:
            found.append((f"{label} ?p={deepest}", f"{path}?p={deepest}"))
    return found


def api_pages(s: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, URL) of every REST API list the bench requests, with its main filters."""
    cb, contact, queue = s["callback"], s["contact"], s["queue"]
    service, integration = s["service"], s["integration"]
    v = "/api/v1"
    return [
        ("api services", f"{v}/messaging-services/"),
        ("api callbacks", f"{v}/callbacks/"),
        ("api callbacks ?status=failed", f"{v}/callbacks/?status=failed"),
        ("api callbacks ?trigger=", f"{v}/callbacks/?trigger=MESSAGE_INBOUND"),
        ("api callbacks ?service=", f"{v}/callbacks/?service={service.pk}"),
        ("api callbacks ?message_id=", f"{v}/callbacks/?message_id={cb.message_id}"),
        ("api queues", f"{v}/queues/"),
        ("api queues ?channel_type=", f"{v}/queues/?channel_type=chat"),
        ("api contacts", f"{v}/contacts/"),
        ("api contacts ?state=queued", f"{v}/contacts/?state=queued"),
        ("api contacts ?queue=", f"{v}/contacts/?queue={queue.pk}"),
        (
            "api contacts ?sinch_conversation_id=",
            f"{v}/contacts/?sinch_conversation_id={contact.sinch_conversation_id}",
        ),
        ("api agents", f"{v}/agents/"),
        ("api agents ?queues=", f"{v}/agents/?queues={queue.pk}"),
        ("api contact messages", f"{v}/contacts/{contact.pk}/messages/"),
        ("api contact events", f"{v}/contacts/{contact.pk}/events/"),
        ("api busy contact messages", f"{v}/contacts/{s['busy'].pk}/messages/"),
        ("api busy contact events", f"{v}/contacts/{s['busy'].pk}/events/"),
        ("api integrations", f"{v}/integrations/"),
        ("api integration presets", f"{v}/integrations/presets/"),
        ("api integration deliveries", f"{v}/integrations/{integration.pk}/deliveries/"),
        (
            "api integration deliveries ?status=",
            f"{v}/integrations/{integration.pk}/deliveries/?status=failed",
        ),
    ]


def measure(client: Client, label: str, url: str, runs: int, headers: dict[str, str]) -> Result:
    """Request once to warm up, then `runs` times; queries are those of the last request."""
    client.get(url, headers=headers)
    times: list[float] = []
    captured = CaptureQueriesContext(connection)
    for _ in range(runs):
        with captured:
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                response.render()
            times.append((time.perf_counter() - started) * 1000)
    slowest = max((float(q["time"]) for q in captured.captured_queries), default=0.0)
    return Result(
        label=label,
        url=url,
        status=response.status_code,
        queries=len(captured.captured_queries),
        median_ms=round(statistics.median(times), 1),
        slowest_query_ms=round(slowest * 1000, 1),
    )


def main() -> None:
    args = parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # The test environment's template instrumentation is off: only what production renders.
    setup_test_environment(debug=False)
    user = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench@example.invalid", None
    )
    _, key = api_token_create(user=user)
    admin_client = Client()
    admin_client.force_login(user)
    api_client = Client()
    token = {"authorization": f"Token {key}"}
    s = samples()
    print(
        f"{connection.vendor} {connection.settings_dict['NAME']}: "
        f"{Callback.objects.count():,} callbacks, {Contact.objects.count():,} contacts, "
        f"{Queue.objects.count():,} queues, {Delivery.objects.count():,} deliveries; "
        f"load {os.getloadavg()[0]:.2f}; median of {args.runs}"
    )
    print(f"{'page':<42} {'status':>6} {'queries':>7} {'median ms':>9} {'slowest q':>9}")
    results: list[Result] = []
    listed = admin_pages(s)
    unlisted = changelists_unlisted(listed)
    if unlisted:
        sys.exit(f"changelists the bench does not request: {', '.join(unlisted)}")
    listed += sorted_and_deep_pages(admin_client, listed)
    pages: list[tuple[str, str, Client, dict[str, str]]] = [
        (label, url, admin_client, {}) for label, url in listed
    ] + [(label, url, api_client, token) for label, url in api_pages(s)]
    for label, url, client, headers in pages:
        if args.only and args.only not in label:
            continue
        result = measure(client, label, url, args.runs, headers)
        results.append(result)
        print(
            f"{label:<42} {result.status:>6} {result.queries:>7} {result.median_ms:>9.1f} "
            f"{result.slowest_query_ms:>9.1f}",
            flush=True,
        )
    print(f"load after: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
