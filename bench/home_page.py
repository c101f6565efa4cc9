"""The home page (the admin index) at a year's volumes: time and queries, before and after the
hourly counts exist, and what keeping them costs the workers. In-process, like admin_scale.py.

    source /work/wt/bigenv.sh   # or DATABASE_URL=... SECRET_KEY=... SECRETS_ENCRYPTION_KEYS=...
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/home_page.py [--runs 9]

Run it against a database filled by `manage.py seed_demo --scale large` (10,000 queues, 100,000
contacts, 1,000,000 callbacks, 200,000 deliveries over 30 days). The script removes the hourly
counts (`cockpit.HourlyCount`, the home page's own table), requests `/admin/` logged in as the
superuser `bench-admin` (made if missing) once to warm up and `--runs` times, counts the last day
with `cockpit.rollup.rollup` as a worker would on its first start (the whole backfill), requests
the page again, and runs the rollup once more (a steady-state run: only hours not final yet).
For comparison it times the one query the charts' callbacks would need without the counts (a
day of callbacks grouped by hour and status). The counts stay: they are what the workers write
anyway. The CPUs are shared: run it when `uptime` shows a low load, and say the load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path

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
from django.db.models import Count  # noqa: E402
from django.db.models.functions import Trunc  # noqa: E402
from django.template.response import SimpleTemplateResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from cockpit.models import HourlyCount  # noqa: E402
from cockpit.rollup import rollup  # noqa: E402
from messaging.models import Callback  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed requests per measure (median)")
    return parser.parse_args()


def measure(client: Client, runs: int) -> tuple[float, float, int, float, int]:
    """Median and fastest ms, queries of one request, slowest query ms, the page's bytes.

    The fastest of the runs is printed beside the median: on shared CPUs the median moves
    with what else runs, the fastest shows what the page itself costs."""
    client.get("/admin/")
    times: list[float] = []
    captured = CaptureQueriesContext(connection)
    size = 0
    for _ in range(runs):
        with captured:
            started = time.perf_counter()
            response = client.get("/admin/")
            if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                response.render()
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        size = len(response.content)
    slowest = max((float(q["time"]) for q in captured.captured_queries), default=0.0)
    return (
        statistics.median(times),
        min(times),
        len(captured.captured_queries),
        slowest * 1000,
        size,
    )


def main() -> None:
    args = parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    setup_test_environment(debug=False)
    user = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench@example.invalid", None
    )
    client = Client()
    client.force_login(user)
    print(
        f"{connection.vendor} {connection.settings_dict['NAME']}: "
        f"load {os.getloadavg()[0]:.2f}; median of {args.runs}"
    )

    HourlyCount.objects.all().delete()
    median, fastest, queries, slowest, size = measure(client, args.runs)
    print(
        f"home page, no hourly counts:   {median:7.1f} ms (fastest {fastest:.1f})  "
        f"{queries} queries  slowest {slowest:.1f} ms  {size:,} bytes"
    )

    started = time.perf_counter()
    first = rollup()
    backfill = (time.perf_counter() - started) * 1000
    print(
        f"rollup, first run (backfill):  {backfill:7.1f} ms  "
        f"{len(first.counted)} hour x metric rows counted"
    )

    median, fastest, queries, slowest, size = measure(client, args.runs)
    print(
        f"home page, with hourly counts: {median:7.1f} ms (fastest {fastest:.1f})  "
        f"{queries} queries  slowest {slowest:.1f} ms  {size:,} bytes"
    )

    started = time.perf_counter()
    steady = rollup()
    print(
        f"rollup, next run (steady):     {(time.perf_counter() - started) * 1000:7.1f} ms  "
        f"{len(steady.counted)} rows counted again (hours not final yet)"
    )

    since = timezone.now() - timedelta(hours=24)
    started = time.perf_counter()
    day = list(
        Callback.objects.filter(received_at__gte=since)
        .annotate(hour=Trunc("received_at", "hour", tzinfo=UTC))
        .values("hour", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    print(
        f"without counts, one day of callbacks by hour and status, counted live: "
        f"{(time.perf_counter() - started) * 1000:.1f} ms ({sum(r['n'] for r in day):,} rows)"
    )
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
