"""Integration deliveries: how fast db_workers send lifecycle events to an HTTPS endpoint, how late.

    python bench/integrations_deliver.py [--contacts 500] [--paced-contacts 500] [--rate 50]

One background integration (the seed 004 listener body, on queued/allocated/accepted/ended of
one queue) points at an HTTPS sink on 127.0.0.1 (tests/httpsink.py, a thread of this process,
its certificate from a throwaway trustme CA that the workers trust through
INTEGRATIONS_CA_BUNDLE). Each contact goes received -> queued -> allocated -> accepted -> ended,
which is four deliveries. `manage.py db_worker` processes (two by default) on a fresh PostgreSQL
database send them. Two phases:

1. Backlog drain (throughput). The workers are started, and held (SIGSTOP) once they have
   booted, while a `manage.py shell` writes --contacts contacts as fast as it can; then both are
   released (SIGCONT) at the same instant. Drain time = last request at the sink - release;
   events/s = deliveries / drain time (and the steady rate between 10 % and 90 % of arrivals).
   Latency is meaningless here (the events waited for the workers on purpose).
2. Paced (latency). With the workers warm and idle, a `manage.py shell` writes --paced-contacts
   contacts at --rate lifecycle events per second (each of the four steps one event, one
   delivery). Latency = time the sink received the request - ContactEvent.occurred_at of the
   event (matched by the body's contact id and event name); occurred_at is stamped inside the
   event's transaction, so the figure includes that commit, the workers' poll interval, the
   task claim and the HTTPS call. It is split into occurred -> task claimed (started_at) ->
   sink, and sink -> task finished.

Both phases print events, wall time, events/s, latency p50/p99/max and the deliveries' statuses
(all should be "succeeded"), the workers' time per task and between tasks, and the CPU each
process group used (this process runs the sink). The generator runs in its own process so that
it does not share this process's GIL with the sink. The database named by --database is dropped
and created.

The sink (tests/httpsink.py) answers at once (--sink-delay makes it wait, as a slow endpoint
would); its sockets have TCP_NODELAY, so that it is not the bottleneck.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

import trustme  # noqa: E402

from bench.inbound_queued import percentile, steady_rate  # noqa: E402
from bench.webhook_ingest import (  # noqa: E402
    PYTHON,
    bench_env,
    cpu_percent,
    cpu_seconds,
    django_shell,
    prepare_database,
    stop,
)
from tests.httpsink import HttpsSink, SinkAnswer, start_sink  # noqa: E402

QUEUE = "Bench integrations"
AGENT = "Bench agent"
INTEGRATION = "Bench lifecycle listener"
EVENTS = ["queued", "allocated", "accepted", "ended"]  # received is not delivered
STEPS = len(EVENTS)  # deliveries per contact


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/bench_integrations"
    )
    parser.add_argument("--contacts", type=int, default=500, help="backlog contacts (x4 events)")
    parser.add_argument(
        "--paced-contacts", type=int, default=500, help="paced contacts (x4 events; 0: skip)"
    )
    parser.add_argument("--rate", type=float, default=50, help="paced lifecycle events/s")
    parser.add_argument("--db-workers", type=int, default=2, help="db_worker processes")
    parser.add_argument("--interval", type=float, default=0.05, help="db_worker --interval")
    parser.add_argument(
        "--sink-delay", type=float, default=0.0, help="seconds the sink waits before answering"
    )
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between checks")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait per phase")
    return parser.parse_args()


# --- the lifecycle events --------------------------------------------------------------------

SETUP = """
import json
from tests.factories import make_agent, make_integration, make_queue
queue = make_queue(QUEUE, ["01E4556565565ERKYO@whatsapp"])
make_agent(AGENT, queues=[queue])
integration = make_integration(
    INTEGRATION,
    queues=[queue],
    endpoint_url=SINK + "/events/{event}",
    events=EVENTS,
    configuration={
        "request": {"method": "POST", "body": {"event": "{event}", "contact": "{contact}"}}
    },
)
print(json.dumps({"integration": integration.pk}))
"""

# Writes COUNT contacts, each through received+queued (one transaction), allocated, accepted,
# ended: four steps, each one delivery. RATE > 0 paces the steps at RATE per second. It prints
# "ready" before the first event and its timing after the last, then waits for a line on stdin.
GENERATE = """
import json, sys, time
from conversations import services
from conversations.models import Agent
from queues.models import Queue
from tests.factories import make_contact
queue = Queue.objects.get(name=QUEUE)
agent = Agent.objects.get(name=AGENT)
behind = 0.0
print("ready", flush=True)
start = time.monotonic()
for n in range(COUNT):
    key = f"{PREFIX}{n:0{26 - len(PREFIX)}d}"
    for step in range(4):
        if RATE > 0:
            due = start + (4 * n + step) / RATE
            now = time.monotonic()
            behind = max(behind, now - due)
            time.sleep(max(0.0, due - now))
        if step == 0:
            contact = make_contact(
                queue, identity=f"4670{n:07d}", conversation_id=key, message_id=key
            )
        elif step == 1:
            contact = services.contact_allocate(contact=contact, agent=agent)
        elif step == 2:
            contact = services.contact_accept(contact=contact)
        else:
            contact = services.contact_end(contact=contact)
print(json.dumps({"seconds": time.monotonic() - start, "behind": behind}), flush=True)
sys.stdin.readline()  # stay (and keep the database session) until the bench has its CPU figures
"""


def generator_code(count: int, rate: float, prefix: str) -> str:
    values = {"QUEUE": QUEUE, "AGENT": AGENT, "COUNT": count, "RATE": rate, "PREFIX": prefix}
    return "".join(f"{name} = {value!r}\n" for name, value in values.items()) + GENERATE


def start_generator(env: dict[str, str], count: int, rate: float, prefix: str) -> EventWriter:
    """A `manage.py shell` writing the contacts, returned once it is about to start."""
    process = subprocess.Popen(
        [PYTHON, "manage.py", "shell", "--no-imports", "-c", generator_code(count, rate, prefix)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        stop(process)  # type: ignore[arg-type]
        sys.exit("the event generator did not start")
    return EventWriter(process, time.time())


@dataclass
class EventWriter:
    """The running generator of the paced phase."""

    process: subprocess.Popen[str]
    started: float  # time.time() just before the first event

    def wait(self) -> dict[str, float]:
        """Block until every event is written: its seconds, and how far behind schedule it fell."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            sys.exit(f"the event generator failed (exit {self.process.wait()})")
        result: dict[str, float] = json.loads(line)
        return result

    def close(self) -> None:
        """Let it exit (it waits for a line so its CPU, and its backend's, can be read first)."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("done\n")
            self.process.stdin.close()
            self.process.wait(timeout=30)


# --- processes -------------------------------------------------------------------------------


def start_db_workers(
    env: dict[str, str], count: int, interval: float, logs: Path
) -> list[subprocess.Popen[bytes]]:
    """`count` db_worker processes, returned once each says it has started."""
    workers = []
    paths = []
    for index in range(count):
        path = logs / f"db_worker{index + 1}.log"
        with path.open("wb") as out:
            workers.append(
                subprocess.Popen(
                    [
                        PYTHON,
                        "manage.py",
                        "db_worker",
                        "--interval",
                        str(interval),
                        "--no-reload",
                        "--no-startup-delay",
                        "--worker-id",
                        f"w{index + 1}",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        paths.append(path)
    deadline = time.monotonic() + 60
    for worker, path in zip(workers, paths, strict=True):
        while b"Starting worker" not in path.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                stop(*workers)
                sys.exit(f"db_worker did not start; its output:\n{path.read_text()}")
            time.sleep(0.05)
    return workers


def count_connections(server: Any) -> list[int]:
    """Count the TCP connections the sink accepts (each a TLS handshake); returns the counter."""
    accepted = [0]
    process_request = server.process_request

    def counted(request: Any, client_address: Any) -> None:
        accepted[0] += 1
        process_request(request, client_address)

    server.process_request = counted
    return accepted


# --- what the database says ------------------------------------------------------------------


class Database:
    """Direct reads of the bench database (this process does not load Django)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)

    def close(self) -> None:
        self.connection.close()

    def max_delivery_id(self) -> int:
        row = self.connection.execute("SELECT coalesce(max(id), 0) FROM integrations_delivery")
        return int(row.fetchone()[0])  # type: ignore[index]

    def statuses(self, after: int, upto: int | None = None) -> dict[str, int]:
        """Deliveries with after < id <= upto, counted by status."""
        rows = self.connection.execute(
            "SELECT status, count(*) FROM integrations_delivery"
            " WHERE id > %s AND (%s::bigint IS NULL OR id <= %s) GROUP BY status ORDER BY status",
            (after, upto, upto),
        ).fetchall()
        return {str(status): int(n) for status, n in rows}

    def unfinished(self, after: int) -> int:
        row = self.connection.execute(
            "SELECT count(*) FROM integrations_delivery"
            " WHERE id > %s AND status IN ('pending', 'sending', 'retrying')",
            (after,),
        ).fetchone()
        return int(row[0])  # type: ignore[index]

    def timeline(self, after: int, upto: int) -> list[Timeline]:
        """Per delivery: its event's occurred_at and its task's enqueue, claim and finish times."""
        rows = self.connection.execute(
            """
            SELECT d.contact_id, d.event, d.status,
                   extract(epoch FROM e.occurred_at)::float8,
                   extract(epoch FROM t.enqueued_at)::float8,
                   extract(epoch FROM t.started_at)::float8,
                   extract(epoch FROM t.finished_at)::float8,
                   t.worker_ids->>-1
            FROM integrations_delivery d
            JOIN conversations_contactevent e ON e.id = d.contact_event_id
            LEFT JOIN django_tasks_database_dbtaskresult t
              ON t.task_path = 'integrations.dispatch.deliver_pending'
             AND (t.args_kwargs->'args'->0->>0)::bigint = d.id
            WHERE d.id > %s AND d.id <= %s
            """,
            (after, upto),
        ).fetchall()
        return [Timeline(*row) for row in rows]


@dataclass(frozen=True)
class Timeline:
    contact_id: int
    event: str
    status: str
    occurred: float
    enqueued: float | None
    started: float | None
    finished: float | None
    worker: str | None


# --- figures ---------------------------------------------------------------------------------


def ms(values: list[float]) -> str:
    """p50 / p99 / max of seconds, in ms."""
    if not values:
        return "-"
    return (
        f"{percentile(values, 0.5) * 1000:.1f} / {percentile(values, 0.99) * 1000:.1f} / "
        f"{max(values) * 1000:.1f}"
    )


def worker_pace(rows: list[Timeline]) -> tuple[list[float], list[float]]:
    """Seconds each task ran (claimed -> finished), and each worker's idle gap between its
    tasks (finished -> next claimed: the poll for the next task and its claim)."""
    runs = [r.finished - r.started for r in rows if r.started and r.finished]
    gaps: list[float] = []
    by_worker: dict[str, list[Timeline]] = {}
    for r in rows:
        if r.worker and r.started and r.finished:
            by_worker.setdefault(r.worker, []).append(r)
    for tasks in by_worker.values():
        tasks.sort(key=lambda r: r.started or 0.0)
        gaps.extend((b.started or 0.0) - (a.finished or 0.0) for a, b in itertools.pairwise(tasks))
    return runs, gaps


@dataclass
class Phase:
    """One phase's measurements, for the report."""

    name: str
    events: int
    started: float  # time.time(): workers released, or generator's first event
    requests: list[Any]  # SinkRequest
    rows: list[Timeline]
    statuses: dict[str, int]
    cpu: dict[str, float]
    connections: int
    drained: bool
    extra: list[tuple[str, str]] = field(default_factory=list)

    def figures(self) -> tuple[list[tuple[str, str]], dict[str, Any]]:
        received = [r.received_at for r in self.requests]
        last = max(received) if received else self.started
        wall = last - self.started
        by_key = {(r.contact_id, r.event): r for r in self.rows}
        to_sink, to_claim, claim_to_sink, sink_to_done = [], [], [], []
        for request in self.requests:
            body = request.json
            row = by_key.get((body["contact"]["id"], body["event"]))
            if row is None:
                continue
            to_sink.append(request.received_at - row.occurred)
            if row.started is not None:
                to_claim.append(row.started - row.occurred)
                claim_to_sink.append(request.received_at - row.started)
            if row.finished is not None:
                sink_to_done.append(row.finished - request.received_at)
        runs, gaps = worker_pace(self.rows)
        per_worker: dict[str, int] = {}
        for row in self.rows:
            per_worker[row.worker or "?"] = per_worker.get(row.worker or "?", 0) + 1
        rate = len(received) / wall if wall > 0 else float("nan")
        idle = "; idle waits too" if self.name == "paced" else ""
        hold = " (incl. the hold)" if self.name == "backlog" else ""
        lines = [
            ("events (deliveries expected)", str(self.events)),
            ("requests at the sink", f"{len(received)} over {self.connections} TLS connection(s)"),
            ("wall time s", f"{wall:.2f} ({self.wall_label()})"),
            ("events/s delivered", f"{rate:.1f}"),
            ("events/s, steady (10%-90% of arrivals)", f"{steady_rate(received):.1f}"),
            *self.extra,
            (f"event -> sink ms p50 / p99 / max{hold}", ms(to_sink)),
            ("  event -> task claimed ms p50 / p99 / max", ms(to_claim)),
            ("  task claimed -> sink ms p50 / p99 / max", ms(claim_to_sink)),
            ("  sink -> task finished ms p50 / p99 / max", ms(sink_to_done)),
            ("task run ms (claimed -> finished) p50 / mean", pm(runs)),
            ("worker gap between tasks ms p50 / mean", f"{pm(gaps)} (poll + claim{idle})"),
            ("tasks per worker", ", ".join(f"{w}: {n}" for w, n in sorted(per_worker.items()))),
            ("delivery statuses", json.dumps(self.statuses)),
        ]
        data = {
            "phase": self.name,
            "events": self.events,
            "requests": len(received),
            "connections": self.connections,
            "wall_s": round(wall, 3),
            "events_per_s": round(rate, 1),
            "steady_events_per_s": round(steady_rate(received), 1),
            "latency_p50_ms": round(percentile(to_sink, 0.5) * 1000, 1) if to_sink else None,
            "latency_p99_ms": round(percentile(to_sink, 0.99) * 1000, 1) if to_sink else None,
            "latency_max_ms": round(max(to_sink) * 1000, 1) if to_sink else None,
            "statuses": self.statuses,
            "drained": self.drained,
            "cpu_pct": self.cpu,
        }
        return lines, data

    def wall_label(self) -> str:
        if self.name == "backlog":
            return "workers released -> last request at the sink"
        return "first event -> last request at the sink"


def pm(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{percentile(values, 0.5) * 1000:.1f} / {fmean(values) * 1000:.1f}"


def report(args: argparse.Namespace, phases: list[Phase]) -> None:
    sink = "TCP_NODELAY"
    if args.sink_delay:
        sink += f", answers after {args.sink_delay * 1000:g} ms"
    print(
        f"\n{args.db_workers} db_worker (--interval {args.interval}), PostgreSQL, HTTPS sink in "
        f"this process ({sink}); one background integration, {STEPS} deliveries per contact; "
        f"{os.cpu_count()} CPUs shared by all"
    )
    summary = []
    for phase in phases:
        lines, data = phase.figures()
        summary.append(data)
        title = {
            "backlog": f"Backlog drain: {args.contacts} contacts written before the workers ran",
            "paced": f"Paced: {args.paced_contacts} contacts, {args.rate:g} events/s",
        }[phase.name]
        print(f"\n{title}")
        width = max(len(label) for label, _ in lines) + 2
        for label, value in lines:
            print(f"  {label:<{width}}{value}")
        print(f"  {'CPU, % of one core':<{width}}", end="")
        print(", ".join(f"{name} {value:.0f}" for name, value in phase.cpu.items()))
    print(json.dumps(summary, separators=(",", ":")))


# --- the run ---------------------------------------------------------------------------------


@contextmanager
def held(workers: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """The workers stopped (SIGSTOP) inside the block; continued in the end whatever happens."""
    for worker in workers:
        os.kill(worker.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGCONT)


def wait_drained(
    sink: HttpsSink, expected: int, db: Database, after: int, args: argparse.Namespace
) -> bool:
    """Until the sink has `expected` requests and no delivery after id `after` is unfinished."""
    deadline = time.monotonic() + args.timeout
    while len(sink.requests) < expected or db.unfinished(after):
        if time.monotonic() > deadline:
            return False
        time.sleep(args.poll)
    return True


def interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends the run as Ctrl+C does, through every `finally`."""
    raise KeyboardInterrupt


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    work = Path(tempfile.mkdtemp(prefix="configurator-bench-integrations-"))
    try:
        run(args, work)
    except BaseException:
        print(f"db_worker output kept in {work}", file=sys.stderr)
        raise
    shutil.rmtree(work)


def run(args: argparse.Namespace, work: Path) -> None:
    ca = trustme.CA()
    bundle = work / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    env = {
        **bench_env(args.database),
        "INTEGRATIONS_CA_BUNDLE": str(bundle),
        "INTEGRATIONS_ALLOWED_NETWORKS": "127.0.0.1/32",
        # Connections outlive the run: a backend that exits takes its CPU time out of the sums.
        "CONN_MAX_AGE": "3600",
    }
    prepare_database(args.database, env)
    phases: list[Phase] = []
    with ExitStack() as running:
        sink, server = start_sink(ca)
        running.callback(server.server_close)
        running.callback(server.shutdown)
        connections = count_connections(server)
        sink.default = SinkAnswer(delay=args.sink_delay)
        setup: dict[str, object] = {"QUEUE": QUEUE, "AGENT": AGENT, "INTEGRATION": INTEGRATION}
        setup |= {"SINK": sink.url, "EVENTS": EVENTS}
        code = "".join(f"{k} = {v!r}\n" for k, v in setup.items()) + SETUP
        django_shell(code, env)
        db = Database(args.database)
        running.callback(db.close)

        # All stopped at once in the end (a worker amid a task finishes it first).
        workers: list[subprocess.Popen[bytes]] = []
        running.callback(lambda: stop(*workers, timeout=10))
        workers.extend(start_db_workers(env, args.db_workers, args.interval, work))
        groups = {f"db_worker {i + 1}": [w.pid] for i, w in enumerate(workers)}

        # 1. Backlog: written while the workers are held, then drained by both at once.
        with held(workers):
            written = time.monotonic()
            django_shell(generator_code(args.contacts, 0, "01BENCHBACKLOG"), env)
            written = time.monotonic() - written
            upto = db.max_delivery_id()
            pending = db.statuses(0)
            cpu_before = cpu_seconds(groups, args.database)
            released = time.time()
        expected = STEPS * args.contacts
        if pending.get("pending") != expected:
            sys.exit(f"expected {expected} pending deliveries, found {pending}")
        drained = wait_drained(sink, expected, db, 0, args)
        cpu_after, done = cpu_seconds(groups, args.database), time.time()
        phases.append(
            Phase(
                name="backlog",
                events=expected,
                started=released,
                requests=list(sink.requests),
                rows=db.timeline(0, upto),
                statuses=db.statuses(0, upto),
                cpu=cpu_percent(cpu_before, cpu_after, done - released),
                connections=connections[0],
                drained=drained,
                extra=[
                    (
                        "events written before the drain, events/s",
                        f"{expected / written:.0f} (one process, incl. its Django start-up)",
                    )
                ],
            )
        )
        if not drained:
            print(f"backlog not drained within {args.timeout} s; figures are partial")

        # 2. Paced: the workers are warm and idle; events come at --rate.
        if args.paced_contacts > 0 and drained:
            base, seen, accepted = upto, len(sink.requests), connections[0]
            expected = STEPS * args.paced_contacts
            generator = start_generator(env, args.paced_contacts, args.rate, "01BENCHPACED")
            running.callback(lambda: stop(generator.process))  # type: ignore[arg-type]
            groups["generator"] = [generator.process.pid]
            cpu_before = cpu_seconds(groups, args.database)
            result = generator.wait()
            drained = wait_drained(sink, seen + expected, db, base, args)
            cpu_after, done = cpu_seconds(groups, args.database), time.time()
            generator.close()
            upto = db.max_delivery_id()
            phases.append(
                Phase(
                    name="paced",
                    events=expected,
                    started=generator.started,
                    requests=list(sink.requests[seen:]),
                    rows=db.timeline(base, upto),
                    statuses=db.statuses(base, upto),
                    cpu=cpu_percent(cpu_before, cpu_after, done - generator.started),
                    connections=connections[0] - accepted,
                    drained=drained,
                    extra=[
                        (
                            "events written, events/s (most behind schedule)",
                            f"{expected / result['seconds']:.1f} "
                            f"({result['behind'] * 1000:.0f} ms)",
                        )
                    ],
                )
            )
            if not drained:
                print(f"paced deliveries not all done within {args.timeout} s; figures partial")

    report(args, phases)
    if not all(p.drained and set(p.statuses) == {"succeeded"} for p in phases):
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; every process this run started has been stopped")
