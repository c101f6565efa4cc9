"""The audit trail at a year's volumes: its admin page, its API and an object's History with a
million entries. In-process, like home_page.py.

    DATABASE_URL=postgres://... SECRET_KEY=... SECRETS_ENCRYPTION_KEYS=... \\
        .venv/bin/python manage.py migrate
    ... .venv/bin/python bench/audit_trail.py [--entries 1000000] [--runs 9]

The script fills `configurator.AuditEntry` up to `--entries` rows (made in bulk, as a year of
changes would leave them: 50 users, queues, integrations and contacts, every operation and
channel, a diff each), then requests as the superuser `bench-admin` (made if missing): the admin's
audit trail page, the same filtered by user, object type and action, the API's first page and one
filtered to one object, and a queue's History page. It prints the median time and the queries of
each. The rows stay for the next run. The CPUs are shared: say the load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from configurator import audit  # noqa: E402
from configurator.choices import AuditOperation, AuditVia  # noqa: E402
from configurator.models import AuditEntry  # noqa: E402
from configurator.tokens import api_token_create  # noqa: E402
from queues.models import Queue  # noqa: E402

BATCH = 10_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="rows to reach")
    parser.add_argument("--runs", type=int, default=9, help="timed requests per measure (median)")
    return parser.parse_args()


def fill(target: int) -> Queue:
    """Entries up to `target`, spread over a year, several users, kinds and operations."""
    with audit.disabled():
        queue = Queue.objects.filter(name="Bench audited queue").first() or Queue.objects.create(
            name="Bench audited queue", channel_type="chat"
        )
    users = [
        User.objects.get_or_create(username=f"bench-auditor-{n}", defaults={"is_staff": True})[0]
        for n in range(50)
    ]
    kinds = [ContentType.objects.get_for_model(m) for m in audit.audited_models()]
    operations = list(AuditOperation.values)
    channels = list(AuditVia.values)
    have = AuditEntry.objects.count()
    now = timezone.now()
    started = time.perf_counter()
    while have < target:
        rows = []
        for n in range(have, min(target, have + BATCH)):
            kind = kinds[n % len(kinds)]
            user = users[n % len(users)]
            rows.append(
                AuditEntry(
                    content_type=kind,
                    object_pk=str(queue.pk if n % 997 == 0 else n % 20_000),
                    object_id=queue.pk if n % 997 == 0 else n % 20_000,
                    object_repr=f"Object {n % 20_000}",
                    action=1,
                    operation=operations[n % len(operations)],
                    via=channels[n % len(channels)],
                    changes={"description": [f"before {n}", f"after {n}"]},
                    actor=user,
                    actor_username=user.username,
                    timestamp=now - timedelta(seconds=(target - n) * 31),
                )
            )
        AuditEntry.objects.bulk_create(rows, batch_size=BATCH)
        have += len(rows)
    if time.perf_counter() - started > 1:
        print(f"filled to {have:,} entries in {time.perf_counter() - started:.0f} s")
    return queue


def measure(client: Client, url: str, runs: int, headers: dict[str, Any]) -> tuple[float, int, int]:
    """Median milliseconds, queries and status of `url`."""
    client.get(url, **headers)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url, **headers)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(url, **headers)
    return statistics.median(times), len(queries), answer.status_code


def main() -> None:
    args = parse_args()
    setup_test_environment()
    queue = fill(args.entries)
    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench@example.com", "bench-pass-123"
    )
    _, key = api_token_create(user=admin)
    client = Client()
    client.force_login(admin)
    kind = ContentType.objects.get_for_model(Queue)
    auditor = User.objects.get(username="bench-auditor-7")
    token: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Token {key}"}
    pages: list[tuple[str, str, dict[str, Any]]] = [
        ("admin: audit trail", "/admin/configurator/auditentry/", {}),
        (
            "admin: by user",
            f"/admin/configurator/auditentry/?actor__id__exact={auditor.pk}",
            {},
        ),
        (
            "admin: by object type and action",
            f"/admin/configurator/auditentry/?content_type__id__exact={kind.pk}&operation=copy",
            {},
        ),
        ("admin: a queue's History", f"/admin/queues/queue/{queue.pk}/history/", {}),
        ("API: first page", "/api/v1/audit/", token),
        (
            "API: one object",
            f"/api/v1/audit/?object_type=queues.queue&object_id={queue.pk}",
            token,
        ),
        (
            "API: one user since a month",
            "/api/v1/audit/?actor=bench-auditor-7&since="
            + (timezone.now() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            token,
        ),
    ]
    print(f"{AuditEntry.objects.count():,} audit entries; {args.runs} runs each; median")
    for name, url, headers in pages:
        ms, queries, status = measure(client, url, args.runs, headers)
        print(f"{name:36} {ms:8.1f} ms  {queries:3} queries  ({status})")


if __name__ == "__main__":
    main()
