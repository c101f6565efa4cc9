"""Inbound message to Queued contact: how fast and how late the workers make contacts of callbacks.

    python bench/inbound_queued.py [--messages 3000] [--concurrency 10] [--db-workers 2]

The ingest benchmark (webhook_ingest.py) stops at the 200; this one follows each message on to
its contact. It starts the app under gunicorn (sync workers) and `manage.py db_worker`
processes on a fresh PostgreSQL database, POSTs N signed MESSAGE_INBOUND callbacks from a thread
pool, each with its own message id and conversation id (so each opens a new contact), and waits
until no callback is pending. It reports the webhook's requests/s and latency, how many contacts
became Queued per second, and the time from each callback's 200 to its contact's "queued" event
(ContactEvent.occurred_at, matched through Message.sinch_message_id), plus the CPU each process
group used while sending and while the workers drained the backlog. The database named by
--database is dropped and created.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

from bench.webhook_ingest import (  # noqa: E402
    PYTHON,
    SECRET,
    bench_env,
    cpu_percent,
    cpu_seconds,
    django_shell,
    prepare_database,
    start_gunicorn,
    stop,
)
from tests.sinch import fixture_body, signed_headers  # noqa: E402

APP_ID = "01BENCHINBOUNDAPP"
MEASURED = "01BENCHIN"  # message id prefix of the measured messages
WARMUP = "01WARMUPIN"  # ... and of the warm-up ones, left out of every figure


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        default="postgres://postgres@127.0.0.1:5432/configurator_bench_inbound",
    )
    parser.add_argument("--messages", type=int, default=3000, help="measured callbacks")
    parser.add_argument("--concurrency", type=int, default=10, help="client threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--db-workers", type=int, default=2, help="db_worker processes")
    parser.add_argument("--interval", type=float, default=0.05, help="db_worker --interval")
    parser.add_argument("--warmup", type=int, default=40, help="callbacks before measuring")
    parser.add_argument(
        "--rate", type=float, default=0, help="requests/s to send at (0: as fast as possible)"
    )
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between DB polls")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for drain")
    parser.add_argument("--port", type=int, default=8766)
    return parser.parse_args()


# --- the callbacks -------------------------------------------------------------------------


def sinch_id(prefix: str, n: int) -> str:
    """A 26-character id, as Sinch's ULIDs are."""
    return f"{prefix}{n:0{26 - len(prefix)}d}"


def message_body(prefix: str, n: int) -> bytes:
    """A MESSAGE_INBOUND callback of its own message, conversation and sender."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return fixture_body(
        "MESSAGE_INBOUND",
        app_id=APP_ID,
        accepted_time=now,
        event_time=now,
        message__id=sinch_id(prefix, n),
        message__conversation_id=sinch_id(prefix + "CONV", n),
        message__contact_id=sinch_id(prefix + "CONT", n),
        message__accept_time=now,
        message__channel_identity__identity=f"4670{n:07d}",
    )


@dataclass(frozen=True)
class Sent:
    """One POST as the client saw it."""

    message_id: str
    status: int  # 0: no HTTP answer
    latency_ms: float
    answered_at: float  # time.time() when the response was read


class Sender:
    """POSTs signed callbacks, one keep-alive-capable connection per client thread.

    gunicorn's sync workers close the connection after each response; http.client then
    reconnects by itself, which is what Sinch's own client meets too.
    """

    def __init__(self, port: int, service_id: str) -> None:
        self.port = port
        self.path = f"/webhooks/sinch/{service_id}/"
        self._local = threading.local()

    def post(self, prefix: str, n: int, due: float = 0.0) -> Sent:
        """POST callback `n`, not before time.monotonic() reaches `due`."""
        time.sleep(max(0.0, due - time.monotonic()))
        body = message_body(prefix, n)
        headers = signed_headers(body, secret=SECRET)
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self._local.connection = connection
        start = time.perf_counter()
        try:
            connection.request("POST", self.path, body, headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            status = 0
        return Sent(sinch_id(prefix, n), status, (time.perf_counter() - start) * 1000, time.time())


# --- processes -----------------------------------------------------------------------------


def start_db_worker(env: dict[str, str], interval: float, log: Path) -> subprocess.Popen[bytes]:
    """One `manage.py db_worker`, returned once it says it has started (its output goes to log)."""
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                PYTHON,
                "manage.py",
                "db_worker",
                "--interval",
                str(interval),
                "--no-reload",
                "--no-startup-delay",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while b"Starting worker" not in log.read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            stop(worker)
            sys.exit(f"db_worker did not start; its output:\n{log.read_text()}")
        time.sleep(0.05)
    return worker


# --- waiting for the workers ---------------------------------------------------------------


class Progress:
    """Polls the database for pending callbacks and queued contacts, and keeps the curve."""

    def __init__(self, database: str) -> None:
        import psycopg

        self.connection = psycopg.connect(database, autocommit=True)
        self.curve: list[tuple[float, int]] = []  # (time.time() after the poll, queued so far)
        self.max_pending = 0

    def poll(self) -> tuple[int, int]:
        """(pending callbacks, queued events) as committed right now."""
        row = self.connection.execute(
            "SELECT (SELECT count(*) FROM messaging_callback WHERE status = 'pending'),"
            " (SELECT count(*) FROM conversations_contactevent WHERE event = 'queued')"
        ).fetchone()
        assert row is not None
        pending, queued = int(row[0]), int(row[1])
        self.curve.append((time.time(), queued))
        self.max_pending = max(self.max_pending, pending)
        return pending, queued

    def wait_drained(self, interval: float, timeout: float) -> bool:
        """Poll until no callback is pending (then every contact is committed); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.poll()[0]:
            if time.monotonic() > deadline:
                return False
            time.sleep(interval)
        return True

    def close(self) -> None:
        self.connection.close()


QUEUED_AT = """
import json
from django.db.models import Count, OuterRef, Subquery
from conversations.models import ContactEvent, Message
from messaging.models import Callback
queued = ContactEvent.objects.filter(contact=OuterRef("contact"), event="queued")
rows = (
    Message.objects.filter(sinch_message_id__startswith=PREFIX, direction="inbound")
    .annotate(queued_at=Subquery(queued.values("occurred_at")[:1]))
    .values_list("sinch_message_id", "queued_at")
)
statuses = dict(Callback.objects.values_list("status").annotate(n=Count("id")))
print(json.dumps({
    "queued": {m: q.timestamp() for m, q in rows if q is not None},
    "callbacks": statuses,
}))
"""


# --- figures -------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (the value at or below which `fraction` of the values lie)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))]


def steady_rate(times: list[float], low: float = 0.1, high: float = 0.9) -> float:
    """Events per second between the `low` and `high` fractions of them: no ramp-up, no tail."""
    ordered = sorted(times)
    first, last = int(low * (len(ordered) - 1)), int(high * (len(ordered) - 1))
    span = ordered[last] - ordered[first]
    return (last - first) / span if span > 0 else float("nan")


def visibility_lag(curve: list[tuple[float, int]], stamped: list[float], base: int) -> list[float]:
    """For each poll that saw k measured contacts queued: poll time - k-th occurred_at, in ms.

    occurred_at is stamped inside a worker's batch transaction; others see the contact only at
    the commit. Matching the visible count against the stamps gives an upper bound of that lag
    (plus up to one poll interval).
    """
    ordered = sorted(stamped)
    lags = []
    seen = 0
    for at, queued in curve:
        k = min(queued - base, len(ordered))
        if k > seen:
            lags.append((at - ordered[k - 1]) * 1000)
            seen = k
    return lags


def report(
    args: argparse.Namespace,
    sent: list[Sent],
    send_started: float,
    drained_at: float,
    result: dict[str, dict[str, float]],
    progress: Progress,
    base: int,
    cpu: dict[str, dict[str, float]],
) -> dict[str, object]:
    """Print the figures as a table and as one JSON line; returns them."""
    ok = [s for s in sent if s.status == 200]
    queued = result["queued"]
    latencies = [s.latency_ms for s in sent]
    first_200 = min(s.answered_at for s in ok)
    last_200 = max(s.answered_at for s in ok)
    stamps = list(queued.values())
    last_queued = max(stamps)
    to_queued = [
        (queued[s.message_id] - s.answered_at) * 1000 for s in ok if s.message_id in queued
    ]
    lags = visibility_lag(progress.curve, stamps, base)
    figures: dict[str, object] = {
        "messages": args.messages,
        "concurrency": args.concurrency,
        "rate": args.rate or None,
        "gunicorn_workers": args.workers,
        "db_workers": args.db_workers,
        "ok_200": len(ok),
        "non_200": len(sent) - len(ok),
        "queued": len(queued),
        "callbacks": result["callbacks"],
        "webhook_rps": len(ok) / (last_200 - send_started),
        "webhook_p50_ms": percentile(latencies, 0.5),
        "webhook_p99_ms": percentile(latencies, 0.99),
        "queued_per_s": len(queued) / (last_queued - first_200),
        "queued_per_s_steady": steady_rate(stamps),
        "to_queued_p50_ms": percentile(to_queued, 0.5),
        "to_queued_p99_ms": percentile(to_queued, 0.99),
        "to_queued_max_ms": max(to_queued),
        "to_queued_min_ms": min(to_queued),
        "visible_lag_p50_ms": percentile(lags, 0.5) if lags else None,
        "visible_lag_max_ms": max(lags) if lags else None,
        "send_s": last_200 - send_started,
        "drain_after_last_200_s": drained_at - last_200,
        "max_pending": progress.max_pending,
        "cpu_pct_sending": cpu["sending"],
        "cpu_pct_draining": cpu["draining"],
    }
    f = figures
    pace = f" at {args.rate:g}/s" if args.rate else " as fast as they can"
    print(
        f"\n{args.messages} MESSAGE_INBOUND callbacks, each a new contact; {args.concurrency} "
        f"client threads{pace}; gunicorn sync -w{args.workers}; {args.db_workers} db_worker "
        f"(--interval {args.interval}); PostgreSQL; {os.cpu_count()} CPUs shared by all"
    )
    rows = [
        ("webhook requests/s (while sending)", f"{f['webhook_rps']:.0f}"),
        ("webhook latency p50 / p99 ms", f"{f['webhook_p50_ms']:.1f} / {f['webhook_p99_ms']:.1f}"),
        ("answers 200 / other", f"{f['ok_200']} / {f['non_200']}"),
        ("contacts queued", f"{f['queued']} (callbacks: {f['callbacks']})"),
        ("queued/s, N / (last queued - first 200)", f"{f['queued_per_s']:.0f}"),
        ("queued/s, steady (10%-90% of events)", f"{f['queued_per_s_steady']:.0f}"),
        (
            "200 -> queued ms p50 / p99 / max",
            f"{f['to_queued_p50_ms']:.0f} / {f['to_queued_p99_ms']:.0f} / "
            f"{f['to_queued_max_ms']:.0f} (min {f['to_queued_min_ms']:.0f})",
        ),
        (
            "occurred_at -> visible ms p50 / max (approx.)",
            f"{f['visible_lag_p50_ms']:.0f} / {f['visible_lag_max_ms']:.0f}" if lags else "-",
        ),
        (
            "sending took s / drain after last 200 s",
            f"{f['send_s']:.1f} / {f['drain_after_last_200_s']:.1f}",
        ),
        ("most callbacks pending at once", f"{f['max_pending']}"),
    ]
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        print(f"  {label:<{width}}{value}")
    print(f"\n  {'CPU, % of one core':<{width}}{'sending':>10}{'draining':>10}")
    for name in cpu["sending"]:
        print(f"  {name:<{width}}{cpu['sending'][name]:>10.0f}{cpu['draining'][name]:>10.0f}")
    print(json.dumps(figures, separators=(",", ":")))
    return figures


# --- the run -------------------------------------------------------------------------------


def send_all(
    sender: Sender,
    prefix: str,
    count: int,
    concurrency: int,
    progress: Progress,
    poll: float,
    rate: float = 0.0,
) -> list[Sent]:
    """POST `count` callbacks from `concurrency` threads (`rate`/s if > 0), polling the DB."""
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sender")
    start = time.monotonic()
    try:
        futures: list[Future[Sent]] = [
            pool.submit(sender.post, prefix, n, start + n / rate if rate > 0 else 0.0)
            for n in range(count)
        ]
        while not all(future.done() for future in futures):
            progress.poll()
            time.sleep(poll)
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends the run as Ctrl+C does, through every `finally`."""
    raise KeyboardInterrupt


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    env = bench_env(args.database)
    prepare_database(args.database, env)
    create = (
        "from tests.factories import make_queue, make_service, outbound, inbound; "
        f"s = make_service(authentications=[outbound('{APP_ID}'), inbound(secret='{SECRET}')]); "
        f"make_queue(name='Bench inbound', addresses=['{APP_ID}@whatsapp']); print(s.pk)"
    )
    service_id = django_shell(create, env)
    logs = Path(tempfile.mkdtemp(prefix="configurator-bench-inbound-"))
    try:
        run(args, env, service_id, logs)
    except BaseException:
        print(f"db_worker output kept in {logs}", file=sys.stderr)
        raise
    shutil.rmtree(logs)


def run(args: argparse.Namespace, env: dict[str, str], service_id: str, logs: Path) -> None:
    """Start the processes, send, wait for the workers, stop everything, report."""
    with ExitStack() as running:
        # All stopped at once; a db_worker amid a task would drain every pending callback first.
        started: list[subprocess.Popen[bytes]] = []
        running.callback(lambda: stop(*started, timeout=5))
        server = start_gunicorn(env, args.workers, args.port)
        started.append(server)
        workers = []
        for index in range(args.db_workers):
            workers.append(start_db_worker(env, args.interval, logs / f"db_worker{index}.log"))
            started.append(workers[-1])
        progress = Progress(args.database)
        running.callback(progress.close)
        sender = Sender(args.port, service_id)

        # Warm-up: connections, caches and first queries in every process.
        warm = send_all(sender, WARMUP, args.warmup, args.concurrency, progress, args.poll)
        if any(s.status != 200 for s in warm):
            sys.exit(f"warm-up callbacks were refused: {sorted({s.status for s in warm})}")
        if not progress.wait_drained(args.poll, 60):
            sys.exit("the workers did not process the warm-up callbacks within 60 s")
        base = progress.poll()[1]
        progress.curve.clear()
        progress.max_pending = 0

        groups = {"gunicorn": [server.pid]} | {
            f"db_worker {i + 1}": [w.pid] for i, w in enumerate(workers)
        }
        cpu_start, send_started = cpu_seconds(groups, args.database), time.time()
        sent = send_all(
            sender, MEASURED, args.messages, args.concurrency, progress, args.poll, args.rate
        )
        cpu_sent, sent_at = cpu_seconds(groups, args.database), time.time()
        drained = progress.wait_drained(args.poll, args.timeout)
        cpu_drained, drained_at = cpu_seconds(groups, args.database), time.time()
        progress.poll()
        if not drained:
            print(f"callbacks still pending after {args.timeout} s; figures are partial")

    result = json.loads(django_shell(f"PREFIX = {MEASURED!r}\n{QUEUED_AT}", env))
    if not result["queued"]:
        sys.exit(f"no contact was queued; callbacks: {result['callbacks']}")
    cpu = {
        "sending": cpu_percent(cpu_start, cpu_sent, sent_at - send_started),
        "draining": cpu_percent(cpu_sent, cpu_drained, max(drained_at - sent_at, 1e-3)),
    }
    report(args, sent, send_started, drained_at, result, progress, base, cpu)
    if not drained or len(result["queued"]) < args.messages:
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; every process this run started has been stopped")
