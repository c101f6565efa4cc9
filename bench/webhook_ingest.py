"""Webhook ingestion throughput: the verified, stored path against a bare Django view.

    python bench/webhook_ingest.py [--workers 4] [--duration 10] [--connections 10]

Starts the app under gunicorn (sync workers) on PostgreSQL, drives signed MESSAGE_INBOUND
callbacks at POST /webhooks/sinch/<id>/ with wrk (each request a fresh nonce, signed as Sinch
signs), then the same view reached through Django's whole stack, then a bare view under the same
server settings, and prints requests/s, p50 and p99 of each and the ratios. Needs wrk
(apt-get install wrk) and a PostgreSQL server; the database named by --database is dropped and
created.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret"
PYTHON = sys.executable
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/configurator_bench"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--runs", type=int, default=3, help="runs per endpoint; medians reported")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--commit-delay",
        type=int,
        default=300,
        help="also measure the webhook with PostgreSQL group commit: commit_delay in µs "
        "(commit_siblings 1) on a second server's connections; 0 to skip",
    )
    return parser.parse_args()


def recreate_database(url: str) -> None:
    import psycopg

    match = re.match(r"^(postgres(?:ql)?://[^/]+)/(\w+)$", url)
    if not match:
        sys.exit(f"--database must look like postgres://user@host:port/name, not {url}")
    with psycopg.connect(f"{match[1]}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{match[2]}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{match[2]}"')


def bench_env(database: str) -> dict[str, str]:
    """Environment of every bench process: bench settings on `database`, persistent connections."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database,
        "SECRET_KEY": "bench-secret-key-" + uuid.uuid4().hex,
        "SECRETS_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "DEBUG": "false",
        # Persistent connections, as in production; kept for the whole bench so that no
        # PostgreSQL backend exits mid-run and takes its CPU figures with it.
        "CONN_MAX_AGE": "3600",
        "SINCH_WEBHOOK_TOLERANCE": "900",
    }


def prepare_database(database: str, env: dict[str, str]) -> None:
    """A fresh, migrated database, and the static files the production settings expect."""
    recreate_database(database)
    for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True)


def start_gunicorn(env: dict[str, str], workers: int, port: int) -> subprocess.Popen[bytes]:
    """gunicorn with sync workers on 127.0.0.1:`port`, returned once it answers."""
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "configurator.wsgi",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            urlopen(f"http://127.0.0.1:{port}/bench/bare/", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    stop(server)
    sys.exit(f"gunicorn did not answer on port {port}")


def stop(*processes: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM to all (a graceful stop), then SIGKILL to those still running after `timeout` s."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def body_bytes() -> bytes:
    """A 1 KiB MESSAGE_INBOUND callback, the size the reference figures used."""
    payload = json.loads((ROOT / "tests/fixtures/sinch/message_inbound.json").read_text())
    raw = json.dumps(payload, separators=(",", ":"))
    pad = 1024 - len(raw) - len(',"pad":""')
    payload["pad"] = "x" * max(pad, 0)
    return json.dumps(payload, separators=(",", ":")).encode()


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(milliseconds: int) -> str:
    """A ULID (26 Crockford base32 characters, time first), the form of Sinch's nonces."""
    value = (milliseconds << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def write_signatures(path: Path, body: bytes, count: int) -> None:
    timestamp = str(int(time.time()))
    lines = [body.decode(), timestamp]
    start = int(time.time() * 1000)
    for n in range(count):
        # Sinch sends ULIDs, which grow with time; the bench spreads them ~0.1 ms apart.
        nonce = ulid(start + n // 10)
        signed = body + b"." + nonce.encode() + b"." + timestamp.encode()
        digest = hmac.digest(SECRET.encode(), signed, hashlib.sha256)
        lines.append(f"{nonce}\t{base64.b64encode(digest).decode()}")
    path.write_text("\n".join(lines) + "\n")


def _found(pattern: str, output: str) -> re.Match[str]:
    """The match of `pattern` in wrk's output; none means wrk's output changed: say so."""
    match = re.search(pattern, output)
    if match is None:
        raise RuntimeError(f"wrk printed nothing matching {pattern!r}:\n{output}")
    return match


def wrk(url: str, args: argparse.Namespace, script: list[str], duration: int) -> dict[str, float]:
    """One wrk run; `script` is [path, arguments...] or empty for plain GETs."""
    lua = ["-s", script[0], url, "--", *script[1:]] if script else [url]
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "--latency",
        *lua,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {"rps": float(_found(r"Requests/sec:\s+([\d.]+)", output)[1])}
    for label, key in (("50%", "p50"), ("99%", "p99")):
        value, unit = _found(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", output).groups()
        result[key] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: .*", output)
    result["non2xx"] = float(bad[1]) if bad else 0.0
    result["requests"] = float(_found(r"(\d+) requests in", output)[1])
    if errors:
        result["socket_errors"] = 1.0
    return result


def django_shell(code: str, env: dict[str, str]) -> str:
    """Run Python in the app's `manage.py shell` and return what it printed."""
    return subprocess.run(
        [PYTHON, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def cpu_seconds(groups: dict[str, list[int]], database: str) -> dict[str, float]:
    """CPU seconds used so far by each group of process trees (by their root pids), by the
    PostgreSQL backends connected to `database`, by this script, and by everything else.

    Reaped children count through their parent's cutime/cstime, so gunicorn workers that ended
    in between are not lost (the bench's backends live as long as their persistent connections;
    PostgreSQL's own background writers count as the rest of the machine).
    """
    stats: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        stats[int(entry.name)] = (int(fields[1]), comm, ticks / CLOCK_TICKS)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)

    def tree(pid: int) -> float:
        own = stats[pid][2] if pid in stats else 0.0
        return own + sum(tree(child) for child in children.get(pid, []))

    used = {name: sum(tree(pid) for pid in roots) for name, roots in groups.items()}
    # PostgreSQL backends title themselves "postgres: <cluster>: <user> <database> <client> ...".
    title = f" {database.rsplit('/', 1)[-1]} ".encode()
    used["postgres (bench backends)"] = 0.0
    for pid, (_, comm, cpu) in stats.items():
        try:
            if comm == "postgres" and title in Path(f"/proc/{pid}/cmdline").read_bytes():
                used["postgres (bench backends)"] += cpu
        except OSError:
            continue
    me = os.times()
    used["driver (this script)"] = me.user + me.system
    # Whatever else runs on the machine competes for the same cores: show it.
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    machine = sum(int(busy[i]) for i in (0, 1, 2, 5, 6, 7)) / CLOCK_TICKS  # all but idle, iowait
    used["rest of the machine"] = machine - sum(used.values())
    return used


def cpu_percent(
    before: dict[str, float], after: dict[str, float], seconds: float
) -> dict[str, float]:
    """CPU use between two `cpu_seconds` snapshots, in % of one core."""
    return {name: round(100 * (after[name] - before[name]) / seconds, 1) for name in after}


LABELS = {
    "webhook": "POST /webhooks/sinch/<id>/ (verify+store)",
    "webhook_grouped": "  the same, PostgreSQL group commit",
    "webhook_django": "  the same view through Django's full stack",
    "bare": "bare Django view, same POSTs",
    "bare_get": "bare Django view, GET",
}
CPU_COLUMNS = {
    "cpu_server": "gunicorn",
    "cpu_postgres": "postgres",
    "cpu_rest": "kernel etc",
    "cpu_load": "wrk",
}


def with_cpu(
    server_pid: int, database: str, run: Callable[[], dict[str, float]]
) -> dict[str, float]:
    """`run()`'s wrk figures plus the CPU milliseconds per request each part of the machine used.

    The server's tree, the bench database's backends, the load generator (the one child this
    script reaps meanwhile) and the rest (kernel threads, PostgreSQL's WAL writer, ...).
    """
    groups = {"server": [server_pid]}
    before, children_before = cpu_seconds(groups, database), _children_cpu()
    result = run()
    after, children_after = cpu_seconds(groups, database), _children_cpu()
    per_request = 1000 / max(result["requests"], 1)
    load = children_after - children_before
    result["cpu_server"] = (after["server"] - before["server"]) * per_request
    postgres = "postgres (bench backends)"
    result["cpu_postgres"] = (after[postgres] - before[postgres]) * per_request
    rest = "rest of the machine"
    result["cpu_rest"] = (after[rest] - before[rest] - load) * per_request
    result["cpu_load"] = load * per_request
    return result


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    env = bench_env(args.database)
    prepare_database(args.database, env)
    create = (
        "from messaging import services; from tests.factories import outbound, inbound; "
        "s = services.messaging_service_create(name='Bench', type='sinchconversation', "
        "service_connection='https://eu.conversation.api.sinch.com/v1/projects/bench/"
        "messages:send', "
        f"authentications=[outbound('01BENCHAPP'), inbound(secret='{SECRET}')]); print(s.pk)"
    )
    service_id = django_shell(create, env)

    body = body_bytes()
    # Fresh nonces for every webhook request: room for 4,000 requests/s on each signed path.
    signed_paths = 3 if args.commit_delay else 2
    per_path = 4000 * args.duration
    per_run = per_path * signed_paths
    total = per_run * (args.runs + 1)
    workdir = Path(tempfile.mkdtemp(prefix="configurator-bench-"))
    signatures = workdir / "signatures.txt"
    write_signatures(signatures, body, total)
    script = str(ROOT / "bench" / "post.lua")

    server = start_gunicorn(env, args.workers, args.port)
    servers = [server]
    grouped_url = ""
    if args.commit_delay:
        # The same app and server settings; only its PostgreSQL sessions wait up to
        # commit_delay µs before flushing the WAL, so that concurrent commits share one flush.
        # Every commit is still on disk before the 200.
        options = f"-c commit_delay={args.commit_delay} -c commit_siblings=1"
        grouped_env = env | {"DATABASE_URL": f"{args.database}?options={quote(options)}"}
        servers.append(start_gunicorn(grouped_env, args.workers, args.port + 1))
        grouped_url = f"http://127.0.0.1:{args.port + 1}/webhooks/sinch/{service_id}/"
    try:
        base = f"http://127.0.0.1:{args.port}"
        hook = f"{base}/webhooks/sinch/{service_id}/"
        # The same view reached through Django's whole stack (middleware, URL resolver,
        # request signals), as the test client and runserver's other requests are served.
        hook_django = f"{base}/bench/webhook-django/{service_id}/"
        # Warm up every path (connections, caches, first queries).
        wrk(f"{base}/bench/bare/", args, [], 2)
        wrk(hook, args, [script, str(signatures), "0", str(args.threads)], 2)
        wrk(hook_django, args, [script, str(signatures), str(per_path), str(args.threads)], 2)
        if grouped_url:
            warm = [script, str(signatures), str(2 * per_path), str(args.threads)]
            wrk(grouped_url, args, warm, 2)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in LABELS}
        for run in range(args.runs):
            offset = per_run * (run + 1)

            def signed(index: int, offset: int = offset) -> list[str]:
                first = offset + index * per_path
                return [script, str(signatures), str(first), str(args.threads)]

            # The yardstick gets the very same signed POSTs (same bytes to parse), and a plain GET
            # for comparison with the reference figures.
            paths = [
                ("webhook", hook, signed(0), server),
                ("webhook_django", hook_django, signed(1), server),
                ("bare", f"{base}/bench/bare/", signed(0), server),
                ("bare_get", f"{base}/bench/bare/", [], server),
            ]
            if grouped_url:
                paths.insert(1, ("webhook_grouped", grouped_url, signed(2), servers[1]))
            for name, url, lua, measured in paths:
                run_wrk = partial(wrk, url, args, lua, args.duration)
                results[name].append(with_cpu(measured.pid, args.database, run_wrk))
    finally:
        stop(*servers)

    stored = django_shell(
        "from messaging.models import Callback; print(Callback.objects.count())", env
    )

    print(
        f"\ngunicorn sync -w{args.workers}, wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s x {args.runs} runs (medians), PostgreSQL, {len(body)}-byte body"
    )
    print(f"{'endpoint':<44}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    summary = {}
    for name, label in LABELS.items():
        runs = results[name]
        if not runs:
            continue
        summary[name] = {key: median([r[key] for r in runs]) for key in ("rps", "p50", "p99")}
        non2xx = sum(r["non2xx"] for r in runs)
        print(
            f"{label:<44}{summary[name]['rps']:>10.0f}{summary[name]['p50']:>10.2f}"
            f"{summary[name]['p99']:>10.2f}{non2xx:>10.0f}"
        )
    bare = summary["bare"]["rps"]
    print(
        f"ratio webhook/bare: {summary['webhook']['rps'] / bare:.2f} "
        f"(against the GET: {summary['webhook']['rps'] / summary['bare_get']['rps']:.2f})"
    )
    if "webhook_grouped" in summary:
        print(
            f"ratio webhook with group commit (commit_delay {args.commit_delay} µs)/bare: "
            f"{summary['webhook_grouped']['rps'] / bare:.2f}"
        )
    print(
        "ratio of the same view through Django's full stack/bare: "
        f"{summary['webhook_django']['rps'] / bare:.2f}"
    )
    print("\nCPU per request, ms (medians; the load generator's includes loading its signatures)")
    print(f"{'endpoint':<44}" + "".join(f"{label:>11}" for label in CPU_COLUMNS.values()))
    for name in LABELS:
        if results[name]:
            figures = [median([r[key] for r in results[name]]) for key in CPU_COLUMNS]
            print(f"{name:<44}" + "".join(f"{value:>11.3f}" for value in figures))
    accepted = sum(
        r["requests"] - r["non2xx"]
        for name in ("webhook", "webhook_grouped", "webhook_django")
        for r in results[name]
    )
    print(f"callbacks stored: {stored} (accepted in measured runs: {accepted:.0f}, plus warm-up)")
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
