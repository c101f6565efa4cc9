"""Capacity on one machine, for planning several: web and worker throughput, PostgreSQL
connections, PgBouncer in transaction mode, and table sizes per million callbacks.

    python bench/capacity.py [--batch 5000] [--duration 10]   # 23 min on 2 busy CPUs
    python bench/capacity.py --batch 300 --duration 3        # a quick run, ~3 min

Prints, in one run, every figure of docs/deployment.md's "Capacity" section, on a fresh
PostgreSQL database (--database, dropped and created):

1. Web: signed 1 KiB MESSAGE_INBOUND callbacks driven by wrk at POST /webhooks/sinch/<id>/ of
   gunicorn with one sync worker process, then two (bench/webhook_ingest.py's signatures, wrk
   script and CPU accounting): callbacks/s, p50/p99, CPU ms per callback (gunicorn, postgres).
2. Workers: --batch MESSAGE_INBOUND callbacks (each opening a conversation, routed to a queue,
   and firing one background integration delivery to an HTTPS endpoint on loopback) are stored
   through the webhook while no worker runs, then one `db_worker` (default WORKER_THREADS)
   drains them; another batch is drained by two workers. The same for MESSAGE_DELIVERY reports
   on replies of those conversations. Rates come from the callbacks' processed_at stamps.
3. Connections: PostgreSQL backends (pg_stat_activity, by application_name) held by one and by
   two web processes and by one and two workers, with persistent connections.
4. PgBouncer (when installed; tests/pgbouncer.py runs a private instance): the webhook through
   it without DATABASE_POOLER (what breaks), with DATABASE_POOLER=pgbouncer (callbacks/s), and a
   worker through a pool of two server sessions (callbacks/s, server backends used).
5. Table sizes: pg_total_relation_size (indexes and TOAST included) of every table the sample
   filled, per row and per million callbacks, and what the retention defaults keep at a given
   daily volume (--per-day).

The machine's load average is printed at the start and the end: throughput measured on a busy
machine is low by about the share of CPU others took.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import trustme  # noqa: E402

from bench.inbound_queued import sinch_id, start_db_worker  # noqa: E402
from bench.webhook_ingest import (  # noqa: E402
    SECRET,
    bench_env,
    body_bytes,
    cpu_seconds,
    django_shell,
    prepare_database,
    start_gunicorn,
    stop,
    with_cpu,
    write_signatures,
    wrk,
)
from tests.httpsink import start_sink  # noqa: E402
from tests.pgbouncer import PgBouncer, pgbouncer  # noqa: E402
from tests.pgbouncer import binary as pgbouncer_binary  # noqa: E402
from tests.sinch import fixture_body, signed_headers  # noqa: E402

APP_ID = "01CAPACITYAPP"
# Days each kind of row is kept by default (configurator/settings.py); None: never removed.
RETENTION_DAYS: dict[str, int | None] = {
    "messaging_callback": 30,
    "integrations_delivery": 30,
    "conversations_contactevent": 90,
    "django_tasks_database_dbtaskresult": 7,
    "conversations_contact": None,
    "conversations_message": None,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--database", default="postgres://postgres@127.0.0.1:5432/h_ops_capacity")
    add("--duration", type=int, default=10, help="seconds per wrk run")
    add("--connections", type=int, default=4, help="wrk connections")
    add("--threads", type=int, default=1, help="wrk threads")
    add("--batch", type=int, default=5000, help="callbacks per worker run (4 runs + PgBouncer)")
    add("--concurrency", type=int, default=8, help="client threads storing a batch")
    add("--interval", type=float, default=0.2, help="db_worker --interval")
    add("--per-day", type=float, default=1.0, help="millions of callbacks a day, for sizes")
    add("--no-pgbouncer", action="store_true", help="skip the PgBouncer runs")
    add("--port", type=int, default=8770)
    return parser.parse_args()


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- the database as the bench watches it ---------------------------------------------------


class Monitor:
    """One autocommit connection that reads counters while the processes work."""

    def __init__(self, database: str) -> None:
        self.connection = psycopg.connect(
            database, autocommit=True, application_name="capacity-monitor"
        )
        self.name = database.rsplit("/", 1)[-1]

    def value(self, sql: str, *params: Any) -> Any:
        row = self.connection.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def backends(self) -> dict[str, int]:
        """PostgreSQL backends connected to the bench database, by application_name."""
        rows = self.connection.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1",
            (self.name,),
        ).fetchall()
        return {str(name): int(count) for name, count in rows}

    def pending(self) -> int:
        """Work not done: pending callbacks and deliveries not final."""
        return int(
            self.value(
                "SELECT (SELECT count(*) FROM messaging_callback WHERE status = 'pending')"
                " + (SELECT count(*) FROM integrations_delivery"
                "    WHERE status NOT IN ('succeeded', 'failed', 'skipped', 'retrying'))"
            )
        )

    def wait_drained(self, timeout: float, during: Callable[[], None] | None = None) -> bool:
        deadline = time.monotonic() + timeout
        while self.pending():
            if during is not None:
                during()
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def rate(self, prefix: str) -> tuple[int, float]:
        """(callbacks, callbacks/s between the first and last processed_at) of a batch."""
        row = self.connection.execute(
            "SELECT count(*), extract(epoch FROM max(processed_at) - min(processed_at)) "
            "FROM messaging_callback WHERE message_id LIKE %s AND status = 'processed'",
            (prefix + "%",),
        ).fetchone()
        assert row is not None
        count, span = int(row[0]), float(row[1] or 0)
        return count, (count - 1) / span if span > 0 else float("nan")

    def close(self) -> None:
        self.connection.close()


# --- callbacks ------------------------------------------------------------------------------


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def inbound_body(prefix: str, n: int) -> bytes:
    """A MESSAGE_INBOUND of its own conversation, contact and sender, as Sinch sends it."""
    now = now_text()
    return fixture_body(
        "MESSAGE_INBOUND",
        app_id=APP_ID,
        accepted_time=now,
        event_time=now,
        message__id=sinch_id(prefix, n),
        message__conversation_id=sinch_id(prefix + "C", n),
        message__contact_id=sinch_id(prefix + "P", n),
        message__accept_time=now,
        message__channel_identity__identity=f"4670{n:07d}",
    )


def delivery_body(prefix: str, inbound_prefix: str, n: int) -> bytes:
    """A MESSAGE_DELIVERY report (DELIVERED) on the reply sent in conversation `n`."""
    now = now_text()
    return fixture_body(
        "MESSAGE_DELIVERY",
        app_id=APP_ID,
        accepted_time=now,
        event_time=now,
        message_delivery_report__message_id=sinch_id(prefix, n),
        message_delivery_report__conversation_id=sinch_id(inbound_prefix + "C", n),
        message_delivery_report__contact_id=sinch_id(inbound_prefix + "P", n),
        message_delivery_report__channel_identity__identity=f"4670{n:07d}",
    )


def store(port: int, service_id: str, bodies: Iterator[bytes], concurrency: int) -> int:
    """POST every body, signed, from `concurrency` threads; how many were answered 200."""
    local = threading.local()
    path = f"/webhooks/sinch/{service_id}/"

    def post(body: bytes) -> int:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection("127.0.0.1", port, 30)
        try:
            connection.request("POST", path, body, signed_headers(body, secret=SECRET))
            response = connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            return 0

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return sum(status == 200 for status in pool.map(post, bodies))


REPLIES = """
from conversations.models import Message
inbound = Message.objects.filter(sinch_message_id__startswith=PREFIX, direction="inbound")
Message.objects.bulk_create(
    [
        Message(
            contact_id=m.contact_id, direction="outbound", kind="text", status="sent",
            text="Thank you, an agent will be with you shortly.",
            # bench/inbound_queued.py's sinch_id(REPLY, n) for inbound message n.
            sinch_message_id=f"{REPLY}{int(m.sinch_message_id[len(PREFIX):]):0{26 - len(REPLY)}d}",
        )
        for m in inbound.only("contact_id", "sinch_message_id")
    ],
    batch_size=1000,
)
"""

SETUP = """
from tests.factories import inbound, make_integration, make_queue, make_service, outbound
service = make_service(name="Capacity", authentications=[outbound(APP_ID), inbound(secret=SECRET)])
queue = make_queue("Capacity", [APP_ID + "@whatsapp"])
make_integration(
    "Capacity listener", queues=[queue], endpoint_url=SINK + "/events/{event}", events=["queued"],
    configuration={"request": {"method": "POST", "timeout": 5,
                   "body": {"event": "{event}", "id": "{event.id}", "contact": "{contact.id}"}}},
)
print(service.pk)
"""


# --- processes ------------------------------------------------------------------------------


def with_name(database: str, application_name: str) -> str:
    return f"{database}?application_name={application_name}"


@contextmanager
def web(env: dict[str, str], processes: int, port: int, name: str) -> Iterator[Any]:
    """gunicorn with `processes` sync workers whose connections carry `name`."""
    server = start_gunicorn(
        env | {"DATABASE_URL": with_name(env["DATABASE_URL"], name)}, processes, port
    )
    try:
        yield server
    finally:
        stop(server)


@contextmanager
def db_workers(
    env: dict[str, str], count: int, args: argparse.Namespace, logs: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` db_worker processes (default WORKER_THREADS) whose connections carry a name."""
    worker_env = env | {"DATABASE_URL": with_name(env["DATABASE_URL"], "capacity-worker")}
    started: list[subprocess.Popen[bytes]] = []
    logs_of = [logs / f"worker-{time.monotonic_ns()}-{n}.log" for n in range(count)]
    try:
        # Started side by side, so that all of them take part from the first callback on.
        with ThreadPoolExecutor(max_workers=count) as pool:
            for worker in pool.map(partial(start_db_worker, worker_env, args.interval), logs_of):
                started.append(worker)
        yield started
    finally:
        stop(*started, timeout=10)


# --- the runs ---------------------------------------------------------------------------------


def web_runs(
    args: argparse.Namespace, env: dict[str, str], service_id: str, monitor: Monitor, work: Path
) -> dict[str, Any]:
    """Callbacks/s of one and two gunicorn sync processes, and the backends they hold."""
    body = body_bytes()
    # Each run takes its own fresh nonces: the 2 s warm-up's, then the measured run's, at up to
    # 4,000 requests/s (a reused nonce is a 401, which would count as a request served).
    warm_up = 4000 * 2
    per_run = warm_up + 4000 * args.duration
    signatures = work / "signatures.txt"
    write_signatures(signatures, body, per_run * 3)
    script = str(ROOT / "bench" / "post.lua")
    results: dict[str, Any] = {}
    for index, processes in enumerate((1, 2)):
        with web(env, processes, args.port, "capacity-web") as server:
            url = f"http://127.0.0.1:{args.port}/webhooks/sinch/{service_id}/"
            lua = [script, str(signatures), str(per_run * index), "1"]
            wrk(url, args, lua, 2)  # warm-up: connections, caches, first queries
            lua = [script, str(signatures), str(per_run * index + warm_up), "1"]
            measured = with_cpu(
                server.pid, args.database, partial(wrk, url, args, lua, args.duration)
            )
            results[f"web{processes}"] = measured | {"backends": monitor.backends()}
    return results


def worker_run(
    args: argparse.Namespace,
    env: dict[str, str],
    service_id: str,
    monitor: Monitor,
    logs: Path,
    *,
    workers: int,
    bodies: Iterator[bytes],
    prefix: str,
    web_env: dict[str, str] | None = None,
    worker_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Store a batch through the webhook with no worker running, then drain it with `workers`."""
    with web(web_env or env, 2, args.port, "capacity-loader"):
        stored = store(args.port, service_id, bodies, args.concurrency)
    busiest: dict[str, int] = {}

    def watch() -> None:
        for name, count in monitor.backends().items():
            busiest[name] = max(busiest.get(name, 0), count)

    with db_workers(worker_env or env, workers, args, logs) as started:
        groups = {"db_worker": [w.pid for w in started]}
        before, at = cpu_seconds(groups, args.database), time.monotonic()
        drained = monitor.wait_drained(900, watch)
        after, took = cpu_seconds(groups, args.database), time.monotonic() - at
        time.sleep(1.5)  # idle: what the workers keep while waiting
        idle = monitor.backends()
        for name, count in idle.items():  # a batch drained before the first look
            busiest[name] = max(busiest.get(name, 0), count)
    count, rate = monitor.rate(prefix)
    postgres = "postgres (bench backends)"
    return {
        "stored": stored,
        "processed": count,
        "rate": rate,
        "drained": drained,
        "seconds": took,
        "cpu_worker_ms": 1000 * (after["db_worker"] - before["db_worker"]) / max(count, 1),
        "cpu_postgres_ms": 1000 * (after[postgres] - before[postgres]) / max(count, 1),
        "backends_busy": busiest,
        "backends_idle": idle,
    }


def pgbouncer_web(
    args: argparse.Namespace,
    env: dict[str, str],
    service_id: str,
    monitor: Monitor,
    work: Path,
    bouncer: PgBouncer,
) -> dict[str, Any]:
    """The webhook through PgBouncer, without DATABASE_POOLER (what breaks) and with it."""
    name = args.database.rsplit("/", 1)[-1]
    version = subprocess.run([bouncer.executable, "--version"], capture_output=True, text=True)
    results: dict[str, Any] = {"version": version.stdout.split("\n", 1)[0]}
    signatures = work / "signatures-pgbouncer.txt"
    warm_up = 4000 * 3  # the unprepared run's 3 s, then the pooled run's 2 s warm-up
    per_run = warm_up + 4000 * args.duration
    write_signatures(signatures, body_bytes(), per_run * 2)
    script = str(ROOT / "bench" / "post.lua")
    url = f"http://127.0.0.1:{args.port}/webhooks/sinch/{service_id}/"
    pooled = env | {"DATABASE_URL": bouncer.url(name), "DATABASE_POOLER": "pgbouncer"}
    unprepared = env | {"DATABASE_URL": bouncer.url(name)}
    # Without DATABASE_POOLER: the prepared INSERT meets other processes' server sessions.
    with web(unprepared, 4, args.port, "capacity-web-pgbouncer"):
        lua = [script, str(signatures), "0", "1"]
        results["web_unprepared"] = wrk(url, args, lua, 3)
    with web(pooled, 1, args.port, "capacity-web-pgbouncer") as server:
        lua = [script, str(signatures), str(per_run), "1"]
        wrk(url, args, lua, 2)
        lua = [script, str(signatures), str(per_run + warm_up), "1"]
        results["web1"] = with_cpu(
            server.pid, args.database, partial(wrk, url, args, lua, args.duration)
        ) | {"backends": monitor.backends()}
    return results


def pgbouncer_worker(
    args: argparse.Namespace,
    env: dict[str, str],
    service_id: str,
    monitor: Monitor,
    work: Path,
    bouncer: PgBouncer,
) -> dict[str, Any]:
    """A batch stored and drained (one worker) through PgBouncer with DATABASE_POOLER."""
    name = args.database.rsplit("/", 1)[-1]
    pooled = env | {"DATABASE_URL": bouncer.url(name), "DATABASE_POOLER": "pgbouncer"}
    result = worker_run(
        args,
        env,
        service_id,
        monitor,
        work,
        workers=1,
        bodies=(inbound_body("01CAPBOUNCE", n) for n in range(args.batch // 2)),
        prefix="01CAPBOUNCE",
        web_env=pooled,
        worker_env=pooled,
    )
    result["pgbouncer_log"] = [
        line for line in bouncer.log_text().splitlines() if "ERROR" in line or "WARNING" in line
    ][:5]
    return result


SIZES = """
SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid),
       pg_relation_size(c.oid), pg_indexes_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname = 'public'
ORDER BY pg_total_relation_size(c.oid) DESC
"""


def table_sizes(monitor: Monitor) -> tuple[int, list[tuple[str, int, int, int]]]:
    """(callbacks, [(table, rows, bytes as processed, bytes compacted)]) of the traffic tables.

    As processed: after VACUUM ANALYZE, which leaves the dead versions of every update (a
    callback is inserted, claimed and finished) as reusable space in the table; compacted: after
    VACUUM FULL, live rows only. A table under steady traffic and autovacuum settles in between.
    """
    monitor.connection.execute("VACUUM ANALYZE")
    callbacks = int(monitor.value("SELECT count(*) FROM messaging_callback"))
    measured = []
    for table, _, total, _, _ in monitor.connection.execute(SIZES).fetchall():
        exact = int(monitor.value(f'SELECT count(*) FROM "{table}"'))  # noqa: S608 - catalogue
        if exact >= callbacks / 10:  # configuration, users: not traffic
            measured.append((str(table), exact, int(total)))
    names = ", ".join(f'"{table}"' for table, _, _ in measured)
    monitor.connection.execute(f"VACUUM FULL {names}")
    return callbacks, [
        (table, count, total, int(monitor.value("SELECT pg_total_relation_size(%s)", table)))
        for table, count, total in measured
    ]


# --- the report -------------------------------------------------------------------------------


def mb(value: float) -> str:
    return f"{value / 1e6:,.0f} MB" if value < 1e9 else f"{value / 1e9:,.1f} GB"


def report(args: argparse.Namespace, figures: dict[str, Any], started: float) -> None:
    w = figures["web"]
    print(
        f"\n== Capacity ({os.cpu_count()} CPUs; load average at start {figures['load_start']}, "
        f"at end {figures['load_end']}; runtime {time.monotonic() - started:.0f} s)"
    )
    print(
        "\nWeb: POST /webhooks/sinch/<id>/, 1 KiB MESSAGE_INBOUND, gunicorn sync, "
        f"wrk -c{args.connections} -d{args.duration}s, PostgreSQL"
    )
    print(
        f"  {'processes':<28}{'callbacks/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
        f"{'gunicorn ms':>12}{'postgres ms':>12}{'backends':>10}"
    )
    for key, label in (("web1", "1 sync worker"), ("web2", "2 sync workers")):
        r = w[key]
        print(
            f"  {label:<28}{r['rps']:>12.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['non2xx']:>9.0f}"
            f"{r['cpu_server']:>12.3f}{r['cpu_postgres']:>12.3f}"
            f"{r['backends'].get('capacity-web', 0):>10}"
        )

    print(
        "\nWorkers: callbacks stored through the webhook first, then drained (default "
        "WORKER_THREADS; rate between the first and last processed_at)"
    )
    print(
        f"  {'run':<44}{'callbacks':>10}{'per s':>8}{'worker ms':>11}{'pg ms':>8}"
        f"{'backends busy/idle':>20}"
    )
    for key, label in (
        ("inbound1", "MESSAGE_INBOUND, new conversation, 1 worker"),
        ("inbound2", "MESSAGE_INBOUND, new conversation, 2 workers"),
        ("delivery1", "MESSAGE_DELIVERY report, 1 worker"),
        ("delivery2", "MESSAGE_DELIVERY report, 2 workers"),
    ):
        r = figures[key]
        busy = r["backends_busy"].get("capacity-worker", 0)
        idle = r["backends_idle"].get("capacity-worker", 0)
        print(
            f"  {label:<44}{r['processed']:>10}{r['rate']:>8.0f}{r['cpu_worker_ms']:>11.2f}"
            f"{r['cpu_postgres_ms']:>8.2f}{f'{busy}/{idle}':>20}"
        )
    print(
        "  (each new conversation also fires one background integration delivery to an HTTPS "
        "endpoint on loopback, sent by the same workers)"
    )

    per_worker = figures["inbound1"]["backends_busy"].get("capacity-worker", 0)
    per_web = w["web1"]["backends"].get("capacity-web", 0)
    print(
        "\nConnections (persistent, CONN_MAX_AGE): "
        f"{per_web} per web process, {per_worker} per db_worker "
        f"(WORKER_THREADS + 1 housekeeping thread): backends = web processes x {per_web} + "
        f"workers x {per_worker} (+ migrate, shells, monitoring)"
    )
    for web_processes, workers in ((4, 1), (8, 2), (16, 4)):
        need = web_processes * per_web + workers * per_worker
        print(f"  {web_processes} web processes + {workers} workers: {need} backends")

    if "pgbouncer" in figures:
        p = figures["pgbouncer"]
        u = p["web_unprepared"]
        print(f"\n{p['version']}, pool_mode = transaction, default_pool_size = 2")
        print(
            f"  webhook without DATABASE_POOLER, 4 sync workers: {u['requests']:.0f} requests, "
            f"{u['non2xx']:.0f} not 2xx (the prepared INSERT meets other sessions)"
        )
        r = p["web1"]
        print(
            f"  webhook, DATABASE_POOLER=pgbouncer, 1 sync worker: {r['rps']:.0f} callbacks/s, "
            f"p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, non-2xx {r['non2xx']:.0f}, "
            f"server backends {sum(r['backends'].values())}"
        )
        q = p["worker1"]
        print(
            f"  1 worker through it, MESSAGE_INBOUND: {q['processed']} callbacks at "
            f"{q['rate']:.0f}/s; server backends at most {sum(q['backends_busy'].values())} "
            f"(direct: {per_worker}); PgBouncer errors/warnings: {q['pgbouncer_log'] or 'none'}"
        )

    callbacks, rows = figures["sizes"]
    print(
        f"\nTable sizes: {callbacks} callbacks as stored and processed above "
        "(pg_total_relation_size: heap, TOAST, indexes; as processed after VACUUM ANALYZE, "
        "compact after VACUUM FULL)"
    )
    print(
        f"  {'table':<36}{'rows':>7}{'per callback':>13}{'bytes/row':>11}{'compact':>9}"
        f"{'per 1M callbacks':>18}{'kept days':>11}{f'kept at {args.per_day:g}M/day':>18}"
    )
    for table, count, total, compact in rows:
        per_million = total / callbacks * 1e6
        days = RETENTION_DAYS.get(table)
        kept = per_million * args.per_day * days if days is not None else None
        shown = "for ever" if table in RETENTION_DAYS and days is None else str(days or "-")
        print(
            f"  {table:<36}{count:>7}{count / callbacks:>13.2f}{total / count:>11.0f}"
            f"{compact / count:>9.0f}{mb(per_million):>18}{shown:>11}"
            f"{(mb(kept) if kept is not None else '-'):>18}"
        )
    print(json.dumps(figures, default=str, separators=(",", ":")))


# --- main -------------------------------------------------------------------------------------


def interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    started = time.monotonic()
    figures: dict[str, Any] = {"load_start": load()}
    work = Path(tempfile.mkdtemp(prefix="configurator-capacity-"))
    ca = trustme.CA()
    bundle = work / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    env = bench_env(args.database) | {
        "INTEGRATIONS_CA_BUNDLE": str(bundle),
        "INTEGRATIONS_ALLOWED_NETWORKS": "127.0.0.1/32",
    }
    prepare_database(args.database, env)
    with ExitStack() as stack:
        sink, server = start_sink(ca)
        stack.callback(server.shutdown)
        sink_url = f"https://127.0.0.1:{server.server_address[1]}"
        setup = f"APP_ID = {APP_ID!r}\nSECRET = {SECRET!r}\nSINK = {sink_url!r}\n{SETUP}"
        service_id = django_shell(setup, env).splitlines()[-1]
        monitor = Monitor(args.database)
        stack.callback(monitor.close)

        bouncer = None
        if not args.no_pgbouncer and pgbouncer_binary():
            bouncer = stack.enter_context(pgbouncer(pool_size=2))
        print("web runs...", file=sys.stderr)
        figures["web"] = web_runs(args, env, service_id, monitor, work)
        if bouncer is not None:
            print("web runs through PgBouncer...", file=sys.stderr)
            figures["pgbouncer"] = pgbouncer_web(args, env, service_id, monitor, work, bouncer)
        # The web runs' callbacks (all the same message, of an app the service does not hold)
        # are not part of the sample; TRUNCATE leaves no dead rows behind to be measured.
        monitor.connection.execute(
            "TRUNCATE messaging_callback, django_tasks_database_dbtaskresult CASCADE"
        )

        batch = args.batch
        for workers in (1, 2):
            print(f"inbound, {workers} worker(s)...", file=sys.stderr)
            prefix = f"01CAPIN{workers}"
            figures[f"inbound{workers}"] = worker_run(
                args,
                env,
                service_id,
                monitor,
                work,
                workers=workers,
                bodies=(inbound_body(prefix, n) for n in range(batch)),
                prefix=prefix,
            )
            sink.requests.clear()
        for workers in (1, 2):
            print(f"delivery reports, {workers} worker(s)...", file=sys.stderr)
            inbound, prefix = f"01CAPIN{workers}", f"01CAPOUT{workers}"
            django_shell(f"PREFIX = {inbound!r}\nREPLY = {prefix!r}\n{REPLIES}", env)
            figures[f"delivery{workers}"] = worker_run(
                args,
                env,
                service_id,
                monitor,
                work,
                workers=workers,
                bodies=(delivery_body(prefix, inbound, n) for n in range(batch)),
                prefix=prefix,
            )
        if bouncer is not None:
            print("a worker through PgBouncer...", file=sys.stderr)
            figures["pgbouncer"]["worker1"] = pgbouncer_worker(
                args, env, service_id, monitor, work, bouncer
            )
            sink.requests.clear()
        figures["sizes"] = table_sizes(monitor)
        figures["load_end"] = load()
    report(args, figures, started)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; every process this run started has been stopped")
