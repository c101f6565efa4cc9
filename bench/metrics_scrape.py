"""What one /metrics scrape costs at a year of data.

    python bench/metrics_scrape.py [--database postgres://postgres@127.0.0.1:5432/NAME]

On a fresh PostgreSQL database (dropped and created) it stores the yardstick of DESIGN.md:
1,000,000 callbacks (a year at 30 s apart, 200 of them pending), 10,000 queues, 100,000 contacts
(500 waiting, spread over the queues), 100,000 contact events and 200,000 deliveries (100 due),
then times the state read of a scrape (configurator.metrics.exposition) and prints every query it
runs with PostgreSQL's plan (EXPLAIN ANALYZE): no sequential scan of a big table is expected.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.webhook_ingest import bench_env, recreate_database  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/configurator_bench_metrics"
    )
    parser.add_argument("--scrapes", type=int, default=20)
    return parser.parse_args()


def copy_rows(table: str, template_id: int | str, count: int, overrides: dict[str, str]) -> None:
    """Insert `count` copies of one row, with some columns computed from `g` (1..count)."""
    from django.db import connection

    with connection.cursor() as cursor:
        columns = [
            c.name
            for c in connection.introspection.get_table_description(cursor, table)
            if c.name != "id" or "id" in overrides
        ]
        select = ", ".join(overrides.get(c, f't."{c}"') for c in columns)
        names = ", ".join(f'"{c}"' for c in columns)
        cursor.execute(
            f'INSERT INTO "{table}" ({names}) SELECT {select} '  # noqa: S608 - our own names
            f'FROM "{table}" t, generate_series(1, %s) g WHERE t.id = %s',
            [count, template_id],
        )
        cursor.execute(f'ANALYZE "{table}"')


def load() -> None:
    """The year of data, made from one template row per table."""
    from django.utils import timezone

    from conversations.models import Contact, ContactEvent
    from integrations.models import Delivery
    from messaging.models import Callback
    from queues.models import Queue
    from tests.factories import make_contact, make_integration, make_queue, make_service

    service = make_service(app_id="01BENCHMETRICS00000000000")
    queue = make_queue("Template", ["01BENCHMETRICS00000000000@whatsapp"])
    contact = make_contact(queue)
    integration = make_integration("Listener", queues=[queue], events=["queued"])
    event = ContactEvent.objects.filter(contact=contact).first()
    assert event is not None
    delivery = Delivery.objects.create(
        integration=integration,
        contact=contact,
        contact_event=event,
        event="queued",
        mode="background",
    )
    callback = Callback.objects.create(
        service=service,
        trigger="MESSAGE_INBOUND",
        nonce="template",
        signed_at=timezone.now(),
        raw_body=b'{"app_id": "01BENCHMETRICS00000000000"}',
        dedupe_key="template",
    )
    started = time.monotonic()
    copy_rows("queues_queue", queue.pk, 10_000, {"name": "'Queue ' || g"})
    queue_ids = "(SELECT min(id) FROM queues_queue)"
    copy_rows(
        "messaging_callback",
        callback.pk,
        1_000_000,
        {
            "nonce": "'n' || g",
            "dedupe_key": "'k' || g",
            "received_at": "now() - g * interval '30 seconds'",
            "status": "CASE WHEN g <= 200 THEN 'pending' WHEN mod(g, 50) = 0 THEN 'failed' "
            "ELSE 'processed' END",
        },
    )
    copy_rows(
        "conversations_contact",
        contact.pk,
        100_000,
        {
            "id": "substr(md5('c' || g), 1, 32)",
            "guid": "substr(md5('g' || g), 1, 32)",
            "thread_key": "''",
            "queue_id": f"{queue_ids} + mod(g, 10000)",
            "state": "CASE WHEN g <= 500 THEN 'queued' ELSE 'ended' END",
            "waiting_since": "CASE WHEN g <= 500 THEN now() - g * interval '1 second' END",
            "ended_at": "CASE WHEN g > 500 THEN now() END",
        },
    )
    copy_rows(
        "conversations_contactevent",
        event.pk,
        100_000,
        {"contact_id": "substr(md5('c' || g), 1, 32)"},
    )
    first_event = "(SELECT min(id) FROM conversations_contactevent)"
    copy_rows(
        "integrations_delivery",
        delivery.pk,
        200_000,
        {
            "contact_id": "substr(md5('c' || (mod(g, 100000) + 1)), 1, 32)",
            "contact_event_id": f"{first_event} + mod(g, 100000) + 1",
            "status": "CASE WHEN g <= 100 THEN 'pending' ELSE 'succeeded' END",
            "created_at": "now() - g * interval '150 seconds'",
            "due_at": "now() - g * interval '150 seconds'",
        },
    )
    print(
        f"loaded in {time.monotonic() - started:.0f} s: {Callback.objects.count():,} callbacks, "
        f"{Queue.objects.count():,} queues, {Contact.objects.count():,} contacts, "
        f"{Delivery.objects.count():,} deliveries"
    )


def measure(scrapes: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from configurator import workers
    from configurator.metrics import exposition

    workers.heartbeat()
    exposition("")  # warm: imports, prepared plans
    times = []
    for _ in range(scrapes):
        started = time.perf_counter()
        body, _ = exposition("")
        times.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as captured:
        exposition("")
    print(
        f"state read of one scrape: median {statistics.median(times) * 1000:.1f} ms, "
        f"max {max(times) * 1000:.1f} ms over {scrapes}; {len(captured.captured_queries)} "
        f"queries, {len(body):,} bytes"
    )
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            print("\n" + query["sql"][:200])
            cursor.execute("EXPLAIN ANALYZE " + query["sql"])
            for (line,) in cursor.fetchall():
                print("    " + line)


def main() -> None:
    args = parse_args()
    env = bench_env(args.database)
    recreate_database(args.database)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    load()
    measure(args.scrapes)


if __name__ == "__main__":
    main()
