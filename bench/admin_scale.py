"""Admin pages and API lists at a year's volumes: queries and time per page, in-process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_admin_big \\
    SECRET_KEY=... SECRETS_ENCRYPTION_KEYS=<the keys the data was seeded with> \\
    .venv/bin/python bench/admin_scale.py [--runs 5] [--only callback] [--json out.json]

Run it against a database filled by `manage.py seed_demo --scale large` (10,000 queues,
100,000 contacts, 1,000,000 callbacks, 200,000 deliveries). Every admin changelist (with its
common filters and searches by exact Sinch ids), the change pages with inlines, the add pages
whose forms choose a queue or an agent, the admin index, and every REST API list with its main
filters are requested with Django's test client in this process, logged in as a superuser (a
session for the admin, a token for the API): no web server, no network, so the figures are the
view's own cost, database included. Each page is requested once to warm caches and then --runs
times; the table shows the status, the queries of one request, the median time and the slowest
query's time. The bench adds one superuser (`bench-admin`) and one API token to the database.
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from configurator.tokens import api_token_create  # noqa: E402
from conversations.models import Agent, Contact  # noqa: E402
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
    return {
        "callback": callback,
        "contact": contact,
        "delivery": delivery,
        "queue": Queue.objects.order_by("pk")[Queue.objects.count() // 2],
        "overflowing": Queue.objects.filter(overflow_queue__isnull=False).order_by("pk")[0],
        "service": MessagingService.objects.order_by("pk")[0],
        "agent": Agent.objects.order_by("pk")[Agent.objects.count() // 2],
        "integration": Integration.objects.order_by("pk")[1],
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
        ("admin users", f"{a}/auth/user/"),
    ]


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
        ("api integrations", f"{v}/integrations/"),
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
            if hasattr(response, "render") and not response.is_rendered:
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
    pages = [(label, url, admin_client, {}) for label, url in admin_pages(s)] + [
        (label, url, api_client, token) for label, url in api_pages(s)
    ]
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
