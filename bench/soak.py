"""Soak: the inbound path under steady load, misbehaving integrations and killed processes.

    python bench/soak.py [--duration 180] [--rate 50] [--kills 3]
    python bench/soak.py --duration 30 --rate 20        # a quick run

The other benches measure how fast; this one checks that nothing is lost or done twice when
things go wrong. On a fresh PostgreSQL database (--database, dropped and created, migrated) it
sets up one messaging service with one app, a chat queue for each of four channels of it, and
two integrations on those queues, whose endpoints are two HTTPS sinks on 127.0.0.1 in this
process (tests/httpsink.py; certificates from a throwaway trustme CA that the app trusts through
INTEGRATIONS_CA_BUNDLE, with INTEGRATIONS_ALLOWED_NETWORKS=127.0.0.1/32):

- a blocking Received integration that routes: its answer sets the queue and the priority
  (`response.set`); --route-slow of its answers come after 1-3 s (past --timeout they time out
  and the conversation goes on unchanged) and --route-fail are 500;
- a background listener on every event: --listen-unavailable of its answers are 503 and
  --listen-hang come only after its timeout has passed (both retried, with a short backoff).

It starts gunicorn (sync workers) and --db-workers `manage.py db_worker` processes, and sends
signed MESSAGE_INBOUND callbacks at --rate per second for --duration seconds; each opens a new
conversation (its own conversation, contact and channel identity), except --continue-share of
them, which continue a conversation opened at least two seconds earlier. A callback without a
200 (a killed web worker, an error) is sent again once, with a fresh nonce, as Sinch retries.
At random moments while sending, --kills db_worker processes and --kills gunicorn worker
processes (children of the master; one amid a request when one is seen within a second) get
SIGKILL; each killed db_worker is restarted at once, the gunicorn master restarts its own
workers.

After the last callback it waits until every callback is finished and every delivery final, or
until nothing has changed for a work lease plus a sweep plus a margin (WORK_LEASE_SECONDS and
WORK_SWEEP_SECONDS, given to the processes as --lease and --sweep: the time a claim of a killed
worker needs to be taken over), or at most --drain-timeout seconds. Then it reads the database
(psycopg, one snapshot) and prints: callbacks sent, acknowledged (200), stored, processed
exactly once, processed twice (a Sinch message id in two messages or processed by two callbacks,
a callback attempted more than once without a recorded takeover, two contacts for one
conversation, an event recorded twice, a delivery attempt recorded twice), stuck (not finished),
lost (acknowledged, not stored), deliveries by final status and those not final, and the time
from each new conversation's 200 to its Queued event (p50, p99). The exit code is 1 when
anything was lost, done twice or stuck, or a delivery is not final.

Every process it starts is stopped when it ends, also on Ctrl+C, SIGTERM or an error; each
wait is bounded; everything listens and connects on 127.0.0.1 only. The processes' output is
kept in a directory named at the end when the run fails.
"""

# The SQL texts are put together from this file's constants and from column names the
# catalogue lists; every value goes as a parameter.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

import trustme  # noqa: E402

from bench.inbound_queued import percentile, sinch_id  # noqa: E402
from bench.webhook_ingest import (  # noqa: E402
    PYTHON,
    SECRET,
    bench_env,
    django_shell,
    prepare_database,
    stop,
)
from tests.httpsink import HttpsSink, SinkAnswer, start_sink  # noqa: E402
from tests.sinch import fixture_body, signed_headers  # noqa: E402

APP_ID = "01SOAKBENCHAPP"
# Queue subchannel and the Conversation API channel a customer writes on.
CHANNELS = [
    ("whatsapp", "WHATSAPP"),
    ("facebook", "MESSENGER"),
    ("telegram", "TELEGRAM"),
    ("instagram", "INSTAGRAM"),
]
EVENTS = [
    "received",
    "queued",
    "allocated",
    "accepted",
    "rejected",
    "transferred",
    "forwarded",
    "ended",
    "abandoned",
]
# Id prefixes: measured and warm-up callbacks are told apart by them in every query.
MEASURED = "01SOAKM"
WARMUP = "01SOAKW"
CALLBACK_FINAL = ("processed", "ignored", "failed")
# Of a delivery `d`: not final. A retrying one whose next attempt exists is done (the next one
# carries on); one without it is not.
NOT_FINAL_DELIVERY = """
    d.status NOT IN ('succeeded', 'failed', 'skipped')
    AND NOT (d.status = 'retrying'
             AND EXISTS (SELECT 1 FROM integrations_delivery n WHERE n.previous_id = d.id))
"""
MARGIN = 10.0  # seconds added to lease + sweep before a standstill counts as stuck
START_TIMEOUT = 60.0  # seconds a process may take to come up
RESEND_AFTER = 1.0  # seconds before a callback without a 200 is sent again


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring (bench/soak.py) for what is checked and reported.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--database",
        default="postgres://postgres@127.0.0.1:5432/soak_bench",
        help="PostgreSQL database to drop, create and use (name it soak_...)",
    )
    add("--duration", type=float, default=180, help="seconds of sending")
    add("--rate", type=float, default=50, help="callbacks sent per second")
    add(
        "--continue-share",
        type=float,
        default=0.1,
        help="share of callbacks that continue an earlier conversation instead of opening one",
    )
    add("--kills", type=int, default=3, help="db_worker and gunicorn worker SIGKILLs, each")
    add("--workers", type=int, default=3, help="gunicorn sync workers")
    add("--db-workers", type=int, default=2, help="db_worker processes")
    add("--interval", type=float, default=0.2, help="db_worker --interval (s)")
    add("--concurrency", type=int, default=16, help="client threads sending callbacks")
    add("--resends", type=int, default=1, help="times a callback without a 200 is sent again")
    add("--timeout", type=float, default=2.0, help="both integrations' request timeout (s)")
    add("--route-slow", type=float, default=0.05, help="share of routing answers after 1-3 s")
    add("--route-fail", type=float, default=0.03, help="share of routing answers that are 500")
    add(
        "--listen-unavailable",
        type=float,
        default=0.05,
        help="share of listener answers that are 503",
    )
    add(
        "--listen-hang",
        type=float,
        default=0.02,
        help="share of listener requests answered only after the timeout (+1 s)",
    )
    add("--max-attempts", type=int, default=3, help="INTEGRATIONS_MAX_ATTEMPTS")
    add("--retry-base", type=float, default=1.0, help="INTEGRATIONS_RETRY_BASE_SECONDS")
    add("--retry-max", type=float, default=4.0, help="INTEGRATIONS_RETRY_MAX_SECONDS")
    add("--lease", type=float, default=20, help="WORK_LEASE_SECONDS given to the processes")
    add("--sweep", type=float, default=5, help="WORK_SWEEP_SECONDS given to the processes")
    add(
        "--drain-timeout",
        type=float,
        default=300,
        help="most seconds to wait after the last callback (at least lease + sweep + 10)",
    )
    add("--warmup", type=int, default=20, help="callbacks sent and processed before measuring")
    add("--poll", type=float, default=0.5, help="seconds between database polls")
    add("--seed", type=int, default=None, help="random seed (plan, kills, sink answers)")
    add("--port", type=int, default=0, help="gunicorn port on 127.0.0.1 (0: a free one)")
    args = parser.parse_args()
    shares = (
        args.continue_share,
        args.route_slow,
        args.route_fail,
        args.listen_unavailable,
        args.listen_hang,
    )
    if not all(0 <= share <= 1 for share in shares):
        parser.error("shares are between 0 and 1")
    if args.route_slow + args.route_fail > 1 or args.listen_unavailable + args.listen_hang > 1:
        parser.error("the shares of one sink's answers add up to more than 1")
    if args.duration <= 0 or args.rate <= 0 or args.db_workers < 1 or args.workers < 1:
        parser.error("--duration, --rate, --workers and --db-workers must be positive")
    if args.kills < 0 or args.resends < 0 or args.concurrency < 1:
        parser.error("--kills and --resends must not be negative, --concurrency positive")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
    return args


# --- the callbacks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One callback to send: when (seconds after the start) and which conversation it is in."""

    n: int
    due: float
    message_id: str
    conversation_id: str
    contact_id: str
    channel: str  # the Conversation API channel
    identity: str
    opens: bool  # a new conversation (else it continues an earlier one)

    def body(self) -> bytes:
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return fixture_body(
            "MESSAGE_INBOUND",
            app_id=APP_ID,
            accepted_time=now,
            event_time=now,
            message__id=self.message_id,
            message__conversation_id=self.conversation_id,
            message__contact_id=self.contact_id,
            message__accept_time=now,
            message__channel_identity__channel=self.channel,
            message__channel_identity__identity=self.identity,
            message__contact_message__text_message__text=f"soak message {self.n}",
        )


def plan(
    prefix: str, count: int, rate: float, continue_share: float, rng: random.Random
) -> list[Planned]:
    """`count` callbacks at `rate`/s; a share continues a conversation opened 2-10 s before."""
    planned: list[Planned] = []
    opened: list[Planned] = []
    for n in range(count):
        due = n / rate
        earlier = [p for p in opened[-int(rate * 10) - 1 :] if p.due <= due - 2]
        if earlier and rng.random() < continue_share:
            first = rng.choice(earlier)
            planned.append(
                Planned(
                    n,
                    due,
                    sinch_id(prefix + "MSG", n),
                    first.conversation_id,
                    first.contact_id,
                    first.channel,
                    first.identity,
                    opens=False,
                )
            )
            continue
        channel = CHANNELS[n % len(CHANNELS)][1]
        new = Planned(
            n,
            due,
            sinch_id(prefix + "MSG", n),
            sinch_id(prefix + "CONV", n),
            sinch_id(prefix + "CONT", n),
            channel,
            f"4671{n:07d}",
            opens=True,
        )
        planned.append(new)
        opened.append(new)
    return planned


@dataclass
class Sent:
    """What became of one planned callback at the webhook."""

    planned: Planned
    statuses: list[int] = field(default_factory=list)  # per POST; 0: no HTTP answer
    acknowledged_at: float | None = None  # time.time() when the 200 was read
    behind: float = 0.0  # seconds late against the schedule


class Sender:
    """POSTs signed callbacks from a pool of threads, each with its own connection."""

    def __init__(self, port: int, service_id: str, resends: int, stopping: threading.Event):
        self.port = port
        self.path = f"/webhooks/sinch/{service_id}/"
        self.resends = resends
        self.stopping = stopping
        self._local = threading.local()

    def post(self, planned: Planned, start: float) -> Sent:
        """Send `planned` at start + due (time.monotonic()), again without a 200 (Sinch's retry)."""
        sent = Sent(planned)
        due = start + planned.due
        if self.stopping.wait(max(0.0, due - time.monotonic())):
            return sent
        sent.behind = max(0.0, time.monotonic() - due)
        body = planned.body()
        for attempt in range(1 + self.resends):
            if attempt and self.stopping.wait(RESEND_AFTER):
                break
            status = self._request(body)
            sent.statuses.append(status)
            if status == 200:
                sent.acknowledged_at = time.time()
                break
        return sent

    def _request(self, body: bytes) -> int:
        headers = signed_headers(body, secret=SECRET)  # a fresh nonce each time
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            self._local.connection = connection
        try:
            connection.request("POST", self.path, body, headers)
            response = connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            return 0


def send(
    sender: Sender, planned: list[Planned], concurrency: int, tick: Callable[[float, int], None]
) -> list[Sent]:
    """Send every planned callback on schedule; `tick(elapsed, sent so far)` runs meanwhile."""
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sender")
    start = time.monotonic()
    try:
        futures: list[Future[Sent]] = [pool.submit(sender.post, p, start) for p in planned]
        while not all(f.done() for f in futures):
            tick(time.monotonic() - start, sum(f.done() for f in futures))
            time.sleep(0.2)
        return [f.result() for f in futures]
    finally:
        sender.stopping.set()  # threads waiting for their turn give up at once
        pool.shutdown(wait=True, cancel_futures=True)


# --- the integrations' endpoints -------------------------------------------------------------


class ScriptedSink(HttpsSink):
    """An HTTPS sink whose answers are drawn at random by `choose`; counts what it answered."""

    def __init__(
        self,
        server: ThreadingHTTPServer,
        choose: Callable[[random.Random], tuple[str, SinkAnswer]],
        seed: int,
    ) -> None:
        super().__init__(server)
        self.choose = choose
        self.kinds: Counter[str] = Counter()
        self._random = random.Random(seed)

    def next_answer(self) -> SinkAnswer:
        with self.lock:
            kind, answer = self.choose(self._random)
            self.kinds[kind] += 1
            # The bench keeps counts, not every request it received.
            self.requests.clear()
        return answer


def scripted_sink(
    ca: trustme.CA, choose: Callable[[random.Random], tuple[str, SinkAnswer]], seed: int
) -> tuple[ScriptedSink, ThreadingHTTPServer]:
    """A running sink on a free loopback port answering as `choose` says."""
    _, server = start_sink(ca)
    sink = ScriptedSink(server, choose, seed)
    server.sink = sink  # type: ignore[attr-defined]  # the handler reads it per request
    return sink, server


def router(args: argparse.Namespace, queue_ids: list[int]) -> Callable[..., tuple[str, Any]]:
    """Answers of the routing endpoint: a queue and a priority; some slow, some 500."""

    def choose(rng: random.Random) -> tuple[str, SinkAnswer]:
        draw = rng.random()
        body = {"queue": {"id": rng.choice(queue_ids)}, "priority": rng.randint(1, 200)}
        if draw < args.route_fail:
            return "500", SinkAnswer(status=500, body={"error": "soak: failing on purpose"})
        if draw < args.route_fail + args.route_slow:
            delay = rng.uniform(1.0, 3.0)
            kind = "slow, timed out" if delay >= args.timeout else "slow"
            return kind, SinkAnswer(body=body, delay=delay)
        return "200", SinkAnswer(body=body)

    return choose


def listener(args: argparse.Namespace) -> Callable[..., tuple[str, Any]]:
    """Answers of the background listener: mostly 200; some 503, some after the timeout."""

    def choose(rng: random.Random) -> tuple[str, SinkAnswer]:
        draw = rng.random()
        if draw < args.listen_unavailable:
            return "503", SinkAnswer(status=503, body={"error": "soak: unavailable"})
        if draw < args.listen_unavailable + args.listen_hang:
            return "hang", SinkAnswer(delay=args.timeout + 1.0)
        return "200", SinkAnswer()

    return choose


SETUP = """
import json
from tests.factories import inbound, make_integration, make_queue, make_service, outbound
service = make_service(
    name="Soak", authentications=[outbound(APP_ID), inbound(secret=SECRET)]
)
queues = [
    make_queue(f"Soak {subchannel}", [f"{APP_ID}@{subchannel}"]) for subchannel in SUBCHANNELS
]
make_integration(
    "Soak router",
    queues=queues,
    endpoint_url=ROUTER + "/route",
    events=["received"],
    configuration={
        "request": {
            "method": "POST",
            "timeout": TIMEOUT,
            "body": {"event": "{event}", "contact": "{contact.id}", "source": "{contact.source}"},
        },
        "response": {
            "set": {
                "queue": {"id": "{response.body.queue.id}"},
                "priority": "{response.body.priority}",
            }
        },
    },
)
make_integration(
    "Soak listener",
    queues=queues,
    endpoint_url=LISTENER + "/events/{event}",
    events=EVENTS,
    configuration={
        "request": {
            "method": "POST",
            "timeout": TIMEOUT,
            "body": {"event": "{event}", "id": "{event.id}", "contact": "{contact.id}"},
        }
    },
)
print(json.dumps({"service": service.pk, "queues": [q.pk for q in queues]}))
"""


def set_up(env: dict[str, str], router_url: str, listener_url: str, timeout: float) -> Any:
    """The messaging service, its queues and the two integrations; their ids."""
    values: dict[str, object] = {
        "APP_ID": APP_ID,
        "SECRET": SECRET,
        "SUBCHANNELS": [subchannel for subchannel, _ in CHANNELS],
        "ROUTER": router_url,
        "LISTENER": listener_url,
        "EVENTS": EVENTS,
        "TIMEOUT": timeout,
    }
    code = "".join(f"{name} = {value!r}\n" for name, value in values.items()) + SETUP
    return json.loads(django_shell(code, env).splitlines()[-1])


# --- the processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_line(process: subprocess.Popen[bytes], log: Path, text: bytes, what: str) -> None:
    """Until `text` is in the process's log; exits with its output if it died or took too long."""
    deadline = time.monotonic() + START_TIMEOUT
    while text not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start; its output:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


def serving(pids: list[int], port: int) -> list[int]:
    """Those of `pids` holding an established connection accepted on 127.0.0.1:`port`."""
    accepted = set()
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        # local address (hex ip:port), remote, state (01 = ESTABLISHED), ..., inode
        if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            accepted.add(fields[9])
    if not accepted:
        return []
    busy = []
    for pid in pids:
        try:
            targets = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        if any(t.startswith("socket:[") and t[8:-1] in accepted for t in targets):
            busy.append(pid)
    return busy


class Processes:
    """gunicorn and the db_workers: started, killed on purpose, all stopped at the end."""

    def __init__(self, env: dict[str, str], logs: Path, args: argparse.Namespace) -> None:
        self.env = env
        self.logs = logs
        self.args = args
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.db_workers: dict[str, subprocess.Popen[bytes]] = {}
        self.all: list[subprocess.Popen[bytes]] = []
        self.web_workers_seen: set[int] = set()
        self.started_workers = 0
        self.kills: list[tuple[float, str, str]] = []  # (s after the start, what, which)
        self.started_at = time.monotonic()  # reset when the measured sending starts
        self.died: list[str] = []  # db_workers that ended without being killed by the bench

    def _spawn(self, command: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.all.append(process)
        return process

    def start_gunicorn(self, port: int) -> None:
        """gunicorn with sync workers on 127.0.0.1:`port`, once it answers."""
        command = [PYTHON, "-m", "gunicorn", "-w", str(self.args.workers), "-k", "sync"]
        command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "configurator.wsgi"]
        self.port = port
        self.gunicorn = self._spawn(command, self.logs / "gunicorn.log")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                urlopen(f"http://127.0.0.1:{port}/bench/bare/", timeout=1)
                return
            except OSError:
                if self.gunicorn.poll() is not None or time.monotonic() > deadline:
                    log = (self.logs / "gunicorn.log").read_text()[-3000:]
                    raise SystemExit(f"gunicorn did not answer on port {port}:\n{log}") from None
                time.sleep(0.1)

    def start_db_worker(self, wait: bool = True) -> str:
        """One more `manage.py db_worker` under a new worker id; returns the id."""
        self.started_workers += 1
        worker_id = f"soak-w{self.started_workers}"
        log = self.log(worker_id)
        command = [PYTHON, "manage.py", "db_worker", "--interval", str(self.args.interval)]
        command += ["--no-reload", "--no-startup-delay", "--worker-id", worker_id]
        self.db_workers[worker_id] = self._spawn(command, log)
        if wait:
            wait_for_line(self.db_workers[worker_id], log, b"Starting worker", worker_id)
        return worker_id

    def log(self, worker_id: str) -> Path:
        return self.logs / f"{worker_id}.log"

    def web_workers(self) -> list[int]:
        """The gunicorn master's children (its workers) right now."""
        if self.gunicorn is None:
            return []
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            if int(raw[raw.rindex(")") + 2 :].split()[1]) == self.gunicorn.pid:
                children.append(int(entry.name))
        self.web_workers_seen.update(children)
        return sorted(children)

    def kill_db_worker(self, rng: random.Random) -> None:
        """SIGKILL a running db_worker and start another in its place."""
        running = [w for w, p in self.db_workers.items() if p.poll() is None]
        # One that has not finished starting yet holds no work: killing it would prove nothing.
        started = [w for w in running if b"Starting worker" in self.log(w).read_bytes()]
        if not running:
            return
        victim = rng.choice(started or running)
        process = self.db_workers.pop(victim)
        process.kill()
        process.wait(timeout=10)
        at = time.monotonic() - self.started_at
        self.kills.append((at, "db_worker", f"{victim} (pid {process.pid})"))
        replacement = self.start_db_worker(wait=False)
        print(f"  killed db_worker {victim}, started {replacement}", file=sys.stderr)

    def kill_web_worker(self, rng: random.Random) -> bool:
        """SIGKILL one gunicorn worker (the master starts another); False when none was up.

        A worker amid a request is preferred (looked for during up to a second), so that the
        kill cuts a callback off rather than hitting an idle process.
        """
        workers = self.web_workers()
        if not workers:
            return False
        deadline = time.monotonic() + 1.0
        busy = serving(workers, self.port)
        while not busy and time.monotonic() < deadline:
            time.sleep(0.002)
            busy = serving(workers, self.port)
        victim = rng.choice(busy or workers)
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            return False
        at = time.monotonic() - self.started_at
        state = "amid a request" if busy else "idle"
        self.kills.append((at, "gunicorn worker", f"pid {victim} ({state})"))
        print(f"  killed gunicorn worker {victim} ({state})", file=sys.stderr)
        return True

    def check(self) -> None:
        """Note db_workers that ended by themselves (the bench restarts none of those)."""
        for worker_id, process in list(self.db_workers.items()):
            if process.poll() is not None and worker_id not in self.died:
                self.died.append(worker_id)
                print(f"  {worker_id} exited by itself ({process.returncode})", file=sys.stderr)

    def stop(self) -> None:
        """Everything down: SIGTERM, SIGKILL after 5 s; then any gunicorn worker left behind."""
        stop(*self.all, timeout=5)
        for pid in self.web_workers_seen:
            try:
                if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue


class Kills:
    """When to kill what: random moments between 10 % and 90 % of the sending."""

    def __init__(self, args: argparse.Namespace, rng: random.Random) -> None:
        self.rng = rng
        moments = [(rng.uniform(0.1, 0.9) * args.duration, "db_worker") for _ in range(args.kills)]
        moments += [(rng.uniform(0.1, 0.9) * args.duration, "gunicorn") for _ in range(args.kills)]
        self.due = sorted(moments)

    def run_due(self, elapsed: float, processes: Processes) -> None:
        while self.due and self.due[0][0] <= elapsed:
            _, what = self.due[0]
            if what == "db_worker":
                processes.kill_db_worker(self.rng)
            elif not processes.kill_web_worker(self.rng):
                return  # the master is between workers: try again at the next tick
            self.due.pop(0)


# --- what the database says ------------------------------------------------------------------


class Database:
    """Direct reads of the bench database (this process does not load Django)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)

    def close(self) -> None:
        self.connection.close()

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, params).fetchall()

    def value(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.rows(sql, params)[0][0]

    def columns(self, table: str) -> set[str]:
        rows = self.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
        )
        return {str(name) for (name,) in rows}

    def unfinished(self, prefix: str) -> tuple[int, int, int]:
        """(callbacks not finished, deliveries not final, deliveries in all) under `prefix`."""
        # Only constants and column names read from the catalogue are put into the SQL text.
        row = self.rows(
            "SELECT (SELECT count(*) FROM messaging_callback"
            "         WHERE message_id LIKE %s AND status <> ALL(%s)),"
            f"      (SELECT count(*) FROM integrations_delivery d WHERE {NOT_FINAL_DELIVERY}),"
            "       (SELECT count(*) FROM integrations_delivery)",
            (prefix + "%", list(CALLBACK_FINAL)),
        )[0]
        return int(row[0]), int(row[1]), int(row[2])

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read inside sees the same committed state."""
        self.connection.autocommit = False
        self.connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield
        finally:
            self.connection.rollback()
            self.connection.autocommit = True


@dataclass(frozen=True)
class Wait:
    """How the wait after sending ended."""

    settled: bool
    seconds: float
    outcome: str


def wait_settled(db: Database, args: argparse.Namespace, processes: Processes) -> Wait:
    """Wait until nothing is unfinished, or nothing moved for lease + sweep + margin (a claim
    of a killed worker would have been taken over by then), or the drain timeout."""
    quiet = args.lease + args.sweep + MARGIN
    started = time.monotonic()
    deadline = started + max(args.drain_timeout, quiet)
    state = db.unfinished(MEASURED)
    changed = started
    reported = started
    while state[:2] != (0, 0):
        now = time.monotonic()
        if now - changed > quiet:
            return Wait(False, now - started, f"gave up: nothing moved for {quiet:g} s")
        if now > deadline:
            return Wait(False, now - started, "gave up: time limit, still moving")
        if now - reported >= 10:
            print(
                f"  waiting {now - started:.0f} s: {state[0]} callbacks unfinished, "
                f"{state[1]} deliveries not final",
                file=sys.stderr,
            )
            reported = now
        time.sleep(args.poll)
        processes.check()
        latest = db.unfinished(MEASURED)
        if latest != state:
            state, changed = latest, time.monotonic()
    return Wait(True, time.monotonic() - started, "everything finished")


# Deliveries `d` of the measured conversations only (not the warm-up's).
MEASURED_CONTACT = (
    "JOIN conversations_contact c ON c.id = d.contact_id AND c.sinch_conversation_id LIKE %s"
)


def read_results(db: Database) -> dict[str, Any]:
    """Everything the report needs, read in one snapshot (measured callbacks only)."""
    like = (MEASURED + "%",)
    callback_columns = db.columns("messaging_callback")
    delivery_columns = db.columns("integrations_delivery")
    takeovers = "takeovers" if "takeovers" in callback_columns else "0"
    claimed_by = "claimed_by" if "claimed_by" in callback_columns else "''"
    delivery_claimed_by = "d.claimed_by" if "claimed_by" in delivery_columns else "''"
    results: dict[str, Any] = {
        "columns": {
            "callback": sorted(callback_columns & {"claimed_by", "claimed_at", "takeovers"}),
            "delivery": sorted(delivery_columns & {"claimed_by", "claimed_at"}),
        }
    }
    with db.snapshot():
        results["callbacks"] = [
            {
                "message_id": m,
                "status": s,
                "attempts": int(a),
                "takeovers": int(t or 0),
                "claimed_by": c or "",
                "reason": r,
            }
            for m, s, a, t, c, r in db.rows(
                f"SELECT message_id, status, attempts, {takeovers}, {claimed_by},"
                " status_reason"
                " FROM messaging_callback WHERE message_id LIKE %s",
                like,
            )
        ]
        results["messages"] = dict(
            db.rows(
                "SELECT sinch_message_id, count(*) FROM conversations_message"
                " WHERE sinch_message_id LIKE %s GROUP BY 1",
                like,
            )
        )
        results["queued_at"] = dict(
            db.rows(
                "SELECT m.sinch_message_id, extract(epoch FROM min(e.occurred_at))::float8"
                " FROM conversations_message m JOIN conversations_contactevent e"
                "   ON e.contact_id = m.contact_id AND e.event = 'queued'"
                " WHERE m.sinch_message_id LIKE %s GROUP BY 1",
                like,
            )
        )
        results["contacts"] = int(
            db.value(
                "SELECT count(*) FROM conversations_contact WHERE sinch_conversation_id LIKE %s",
                like,
            )
        )
        results["conversations_with_two_contacts"] = int(
            db.value(
                "SELECT count(*) FROM (SELECT sinch_conversation_id FROM conversations_contact"
                " WHERE sinch_conversation_id LIKE %s GROUP BY 1 HAVING count(*) > 1) x",
                like,
            )
        )
        results["events_twice"] = dict(
            db.rows(
                "SELECT e.event, count(*) FROM ("
                "  SELECT e.contact_id, e.event FROM conversations_contactevent e"
                "  JOIN conversations_contact c ON c.id = e.contact_id"
                "  WHERE c.sinch_conversation_id LIKE %s AND e.event IN ('received', 'queued')"
                "  GROUP BY 1, 2 HAVING count(*) > 1) e GROUP BY 1",
                like,
            )
        )
        results["delivery_attempts_twice"] = int(
            db.value(
                "SELECT count(*) FROM (SELECT 1 FROM integrations_delivery d"
                f" {MEASURED_CONTACT}"
                " GROUP BY d.integration_id, d.contact_event_id, d.attempt"
                " HAVING count(*) > 1) x",
                like,
            )
        )
        results["deliveries"] = [
            (i, m, s, int(n))
            for i, m, s, n in db.rows(
                "SELECT i.name, d.mode, d.status, count(*) FROM integrations_delivery d"
                " JOIN integrations_integration i ON i.id = d.integration_id"
                f" {MEASURED_CONTACT} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                like,
            )
        ]
        results["deliveries_not_final"] = [
            (s, c or "", int(n))
            for s, c, n in db.rows(
                f"SELECT d.status, {delivery_claimed_by}, count(*)"
                " FROM integrations_delivery d"
                f" {MEASURED_CONTACT} WHERE {NOT_FINAL_DELIVERY} GROUP BY 1, 2 ORDER BY 1, 2",
                like,
            )
        ]
        results["tasks"] = [
            (p, s, int(n))
            for p, s, n in db.rows(
                "SELECT task_path, status, count(*) FROM django_tasks_database_dbtaskresult"
                " GROUP BY 1, 2 ORDER BY 1, 2"
            )
        ]
    return results


# --- the report ------------------------------------------------------------------------------


def report(
    args: argparse.Namespace,
    sent: list[Sent],
    results: dict[str, Any],
    processes: Processes,
    sinks: dict[str, ScriptedSink],
    wait: Wait,
) -> int:
    """Print the figures (a table, then one JSON line); returns the number of faults found."""
    callbacks: list[dict[str, Any]] = results["callbacks"]
    messages: dict[str, int] = results["messages"]
    acknowledged = {s.planned.message_id: s for s in sent if s.acknowledged_at is not None}
    stored_ids = {c["message_id"] for c in callbacks}
    answers = Counter(status for s in sent for status in s.statuses)
    by_status = Counter(c["status"] for c in callbacks)
    finished = [c for c in callbacks if c["status"] in CALLBACK_FINAL]
    # Attempts beyond the first that no takeover explains: run twice (unfinished ones are stuck).
    retried = [c for c in finished if c["attempts"] > 1 + c["takeovers"]]
    once = [c for c in finished if c["attempts"] <= 1 + c["takeovers"]]
    stuck = [c for c in callbacks if c["status"] not in CALLBACK_FINAL]
    stuck_by = Counter(f"{c['status']} {c['claimed_by']}".strip() for c in stuck)
    lost = sorted(set(acknowledged) - stored_ids)
    processed_by = Counter(c["message_id"] for c in callbacks if c["status"] == "processed")
    # Finished (none of its callbacks left to do) and yet no message: dropped, not stuck.
    open_ids = {c["message_id"] for c in stuck}
    unstored = stored_ids - open_ids - set(messages)
    # Why callbacks failed or were ignored, by the first line of the reason.
    reasons = Counter(
        f"{c['status']}: {(c['reason'].splitlines() or [''])[0][:90]}"
        for c in callbacks
        if c["status"] in ("failed", "ignored")
    )
    twice: dict[str, int] = {
        "Sinch message id in two messages": sum(1 for n in messages.values() if n > 1),
        "message processed by two callbacks": sum(1 for n in processed_by.values() if n > 1),
        "callbacks attempted > 1 without a takeover": len(retried),
        "conversations with two contacts": int(results["conversations_with_two_contacts"]),
        "contacts with an event twice": sum(int(n) for n in results["events_twice"].values()),
        "delivery attempts recorded twice": int(results["delivery_attempts_twice"]),
    }
    opened = [s for s in sent if s.planned.opens]
    queued_at: dict[str, float] = results["queued_at"]
    to_queued = [
        (queued_at[s.planned.message_id] - s.acknowledged_at) * 1000
        for s in opened
        if s.acknowledged_at is not None and s.planned.message_id in queued_at
    ]
    not_final = sum(int(n) for _, _, n in results["deliveries_not_final"])
    figures: dict[str, Any] = {
        "duration_s": args.duration,
        "rate": args.rate,
        "seed": args.seed,
        "sent": len(sent),
        "posts": sum(answers.values()),
        "answers": {str(k): v for k, v in sorted(answers.items())},
        "acknowledged": len(acknowledged),
        "stored_rows": len(callbacks),
        "stored_messages": len(stored_ids),
        "callback_statuses": dict(by_status),
        "processed_once": len(once),
        "twice": twice,
        "twice_total": sum(twice.values()),
        "stuck": len(stuck),
        "stuck_by": dict(stuck_by),
        "lost": len(lost),
        "acknowledged_without_message": len(unstored),
        "new_conversations": len(opened),
        "contacts": results["contacts"],
        "queued": sum(1 for s in opened if s.planned.message_id in queued_at),
        "contacts_created_twice": results["conversations_with_two_contacts"],
        "deliveries": [list(row) for row in results["deliveries"]],
        "deliveries_not_final": not_final,
        "to_queued_p50_ms": round(percentile(to_queued, 0.5)) if to_queued else None,
        "to_queued_p99_ms": round(percentile(to_queued, 0.99)) if to_queued else None,
        "to_queued_max_ms": round(max(to_queued)) if to_queued else None,
        "most_behind_schedule_s": round(max((s.behind for s in sent), default=0.0), 2),
        "kills": [[round(t, 1), what, which] for t, what, which in processes.kills],
        "settled": wait.settled,
        "waited_s": round(wait.seconds, 1),
        "sinks": {name: dict(sink.kinds) for name, sink in sinks.items()},
        "columns": results["columns"],
    }
    f = figures
    print(
        f"\nSoak: {args.duration:g} s at {args.rate:g} callbacks/s ({args.continue_share:.0%} "
        f"continuing a conversation), gunicorn sync -w{args.workers}, {args.db_workers} db_worker "
        f"(--interval {args.interval:g}), PostgreSQL; lease {args.lease:g} s, sweep "
        f"{args.sweep:g} s; seed {args.seed}; {os.cpu_count()} CPUs shared by all"
    )
    rows: list[tuple[str, str]] = [
        ("callbacks sent (POSTs, incl. resends)", f"{f['sent']} ({f['posts']})"),
        ("answers by status (0: none)", json.dumps(f["answers"])),
        ("acknowledged (200)", str(f["acknowledged"])),
        ("stored (rows / distinct messages)", f"{f['stored_rows']} / {f['stored_messages']}"),
        ("callback statuses", json.dumps(f["callback_statuses"])),
        *((f"  {n} x", reason) for reason, n in reasons.most_common(8)),
        ("processed exactly once (rows)", str(f["processed_once"])),
        ("processed twice", f"{f['twice_total']}"),
        *((f"  {label}", str(n)) for label, n in twice.items()),
        ("stuck (pending or claimed)", f"{f['stuck']} {json.dumps(f['stuck_by'])}"),
        ("lost (acknowledged, no row)", str(f["lost"])),
        ("finished without storing the message", str(f["acknowledged_without_message"])),
        (
            "new conversations / contacts / queued",
            f"{f['new_conversations']} / {f['contacts']} / {f['queued']}",
        ),
        ("contacts created twice", str(f["contacts_created_twice"])),
        ("deliveries not final", f"{not_final} {results['deliveries_not_final'] or ''}"),
        *(
            (f"  {name}, {mode}", f"{status}: {n}")
            for name, mode, status, n in results["deliveries"]
        ),
        (
            "200 -> Queued ms p50 / p99 / max",
            f"{f['to_queued_p50_ms']} / {f['to_queued_p99_ms']} / {f['to_queued_max_ms']}",
        ),
        ("most behind schedule s", str(f["most_behind_schedule_s"])),
        (
            "kills (s after the start)",
            ", ".join(f"{what} {at:.0f}" for at, what, _ in processes.kills) or "none",
        ),
        ("db_workers that exited by themselves", ", ".join(processes.died) or "none"),
        ("waited after sending s", f"{f['waited_s']} ({wait.outcome})"),
        *((f"sink {name} answered", json.dumps(kinds)) for name, kinds in f["sinks"].items()),
        (
            "task rows",
            "; ".join(f"{p.rsplit('.', 1)[-1]} {s}: {n}" for p, s, n in results["tasks"]),
        ),
        (
            "lease columns present",
            f"callback {results['columns']['callback'] or 'none'}, "
            f"delivery {results['columns']['delivery'] or 'none'}",
        ),
    ]
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        print(f"  {label:<{width}}{value}")
    if lost:
        print(f"  lost, first: {', '.join(lost[:5])}")
    print(json.dumps(figures, separators=(",", ":")))
    return len(lost) + sum(twice.values()) + len(stuck) + not_final


# --- the run ---------------------------------------------------------------------------------


def interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGINT, SIGTERM and SIGHUP end the run through every `finally`."""
    raise KeyboardInterrupt


def main() -> None:
    args = parse_args()
    # SIGINT too: a shell starts background jobs with it ignored, and Ctrl+C must still stop all.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    logs = Path(tempfile.mkdtemp(prefix="configurator-soak-"))
    try:
        faults = run(args, logs)
    except BaseException:
        print(f"the processes' output is kept in {logs}", file=sys.stderr)
        raise
    if faults:
        print(f"the processes' output is kept in {logs}", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(logs)


def run(args: argparse.Namespace, logs: Path) -> int:
    """Set up, send under faults, wait, report; returns the number of faults found."""
    rng = random.Random(args.seed)
    ca = trustme.CA()
    bundle = logs / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    env = {
        **bench_env(args.database),
        "INTEGRATIONS_CA_BUNDLE": str(bundle),
        "INTEGRATIONS_ALLOWED_NETWORKS": "127.0.0.1/32",
        "INTEGRATIONS_MAX_ATTEMPTS": str(args.max_attempts),
        "INTEGRATIONS_RETRY_BASE_SECONDS": str(args.retry_base),
        "INTEGRATIONS_RETRY_MAX_SECONDS": str(args.retry_max),
        "WORK_LEASE_SECONDS": f"{args.lease:g}",
        "WORK_SWEEP_SECONDS": f"{args.sweep:g}",
    }
    print(f"preparing {args.database.rsplit('/', 1)[-1]} (seed {args.seed})", file=sys.stderr)
    prepare_database(args.database, env)
    with ExitStack() as running:
        processes = Processes(env, logs, args)
        running.callback(quietly, processes.stop)
        # The router's answers name queues, known only after the setup: it reads them late.
        queue_ids: list[int] = []
        route_sink, route_server = scripted_sink(ca, router(args, queue_ids), rng.randrange(2**31))
        listen_sink, listen_server = scripted_sink(ca, listener(args), rng.randrange(2**31))
        for server in (route_server, listen_server):
            running.callback(server.server_close)
            running.callback(server.shutdown)
        sinks = {"router": route_sink, "listener": listen_sink}
        ids = set_up(env, route_sink.url, listen_sink.url, args.timeout)
        queue_ids.extend(ids["queues"])
        db = Database(args.database)
        running.callback(db.close)

        port = args.port or free_port()
        processes.start_gunicorn(port)
        for _ in range(args.db_workers):
            processes.start_db_worker()

        # Warm-up: every process connected, caches filled, the whole path shown to work.
        warm = plan(WARMUP, args.warmup, 10.0, 0.0, rng)
        warm_sent = send(Sender(port, ids["service"], 1, threading.Event()), warm, 4, idle)
        if not all(s.acknowledged_at for s in warm_sent):
            raise SystemExit("the webhook refused the warm-up callbacks")
        deadline = time.monotonic() + START_TIMEOUT
        while db.unfinished(WARMUP)[0] and time.monotonic() < deadline:
            time.sleep(args.poll)
        if db.unfinished(WARMUP)[0]:
            raise SystemExit(f"the warm-up callbacks were not processed in {START_TIMEOUT:g} s")

        count = round(args.duration * args.rate)
        planned = plan(MEASURED, count, args.rate, args.continue_share, rng)
        kills = Kills(args, rng)
        stopping = threading.Event()
        sender = Sender(port, ids["service"], args.resends, stopping)
        progress = Progress(db, processes, kills, len(planned))
        print(f"sending {len(planned)} callbacks over {args.duration:g} s", file=sys.stderr)
        processes.started_at = time.monotonic()
        sent = send(sender, planned, args.concurrency, progress.tick)
        print("sent; waiting for the workers", file=sys.stderr)
        wait = wait_settled(db, args, processes)
        results = read_results(db)
        return report(args, sent, results, processes, sinks, wait)
    raise AssertionError("unreachable")  # ExitStack does not swallow exceptions


def idle(elapsed: float, done: int) -> None:
    """A `send` tick that does nothing."""


class Progress:
    """The tick of the measured sending: kills when due, a line every 10 s."""

    def __init__(self, db: Database, processes: Processes, kills: Kills, total: int) -> None:
        self.db = db
        self.processes = processes
        self.kills = kills
        self.total = total
        self.next_line = 10.0

    def tick(self, elapsed: float, done: int) -> None:
        self.kills.run_due(elapsed, self.processes)
        self.processes.check()
        if elapsed >= self.next_line:
            self.next_line += 10
            unfinished, deliveries, _ = self.db.unfinished(MEASURED)
            print(
                f"  {elapsed:.0f} s: {done}/{self.total} sent; {unfinished} callbacks "
                f"unfinished, {deliveries} deliveries not final",
                file=sys.stderr,
            )


def quietly(action: Callable[[], None]) -> None:
    """Run `action` with Ctrl+C and SIGTERM held off, so that a second one cannot cut it short."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        action()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; every process this run started has been stopped")
