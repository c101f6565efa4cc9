"""Webhook ingestion throughput: the verified, stored path against a bare Django view.

    python bench/webhook_ingest.py [--workers 4] [--duration 10] [--connections 10]

Starts the app under gunicorn (sync workers) on PostgreSQL, drives signed MESSAGE_INBOUND
callbacks at POST /webhooks/sinch/<id>/ with wrk (each request a fresh nonce, signed as Sinch
signs), then a bare view under the same server settings, and prints requests/s, p50 and p99 of
both and their ratio. Needs wrk (apt-get install wrk) and a PostgreSQL server; the database
named by --database is dropped and created.
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
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret"
PYTHON = sys.executable


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
        "CONN_MAX_AGE": "60",
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
            urlopen(f"http://127.0.0.1:{port}/bench/bare/", timeout=1)  # noqa: S310 - loopback
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


def write_signatures(path: Path, body: bytes, count: int) -> None:
    timestamp = str(int(time.time()))
    lines = [body.decode(), timestamp]
    for _ in range(count):
        nonce = uuid.uuid4().hex.upper()[:26]
        signed = body + b"." + nonce.encode() + b"." + timestamp.encode()
        digest = hmac.digest(SECRET.encode(), signed, hashlib.sha256)
        lines.append(f"{nonce}\t{base64.b64encode(digest).decode()}")
    path.write_text("\n".join(lines) + "\n")


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
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])}
    for label, key in (("50%", "p50"), ("99%", "p99")):
        value, unit = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", output).groups()
        result[key] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: .*", output)
    result["non2xx"] = float(bad[1]) if bad else 0.0
    result["requests"] = float(re.search(r"(\d+) requests in", output)[1])
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
    per_run = 6000 * args.duration
    total = per_run * (args.runs + 1)
    workdir = Path(tempfile.mkdtemp(prefix="configurator-bench-"))
    signatures = workdir / "signatures.txt"
    write_signatures(signatures, body, total)
    script = str(ROOT / "bench" / "post.lua")

    server = start_gunicorn(env, args.workers, args.port)
    try:
        base = f"http://127.0.0.1:{args.port}"
        hook = f"{base}/webhooks/sinch/{service_id}/"
        # Warm up both paths (connections, caches, first queries).
        wrk(f"{base}/bench/bare/", args, [], 2)
        wrk(hook, args, [script, str(signatures), "0", str(args.threads)], 2)
        results: dict[str, list[dict[str, float]]] = {"webhook": [], "bare": [], "bare_get": []}
        for run in range(args.runs):
            offset = per_run * (run + 1)
            results["webhook"].append(
                wrk(
                    hook,
                    args,
                    [script, str(signatures), str(offset), str(args.threads)],
                    args.duration,
                )
            )
            # The yardstick gets the very same signed POSTs (same bytes to parse), and a plain GET
            # for comparison with the reference figures.
            results["bare"].append(
                wrk(
                    f"{base}/bench/bare/",
                    args,
                    [script, str(signatures), str(offset), str(args.threads)],
                    args.duration,
                )
            )
            results["bare_get"].append(wrk(f"{base}/bench/bare/", args, [], args.duration))
    finally:
        stop(server)

    stored = django_shell(
        "from messaging.models import Callback; print(Callback.objects.count())", env
    )

    print(
        f"\ngunicorn sync -w{args.workers}, wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s x {args.runs} runs (medians), PostgreSQL, {len(body)}-byte body"
    )
    print(f"{'endpoint':<44}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    summary = {}
    for name, label in (
        ("webhook", "POST /webhooks/sinch/<id>/ (verify+store)"),
        ("bare", "bare Django view, same POSTs"),
        ("bare_get", "bare Django view, GET"),
    ):
        runs = results[name]
        summary[name] = {key: median([r[key] for r in runs]) for key in ("rps", "p50", "p99")}
        non2xx = sum(r["non2xx"] for r in runs)
        print(
            f"{label:<44}{summary[name]['rps']:>10.0f}{summary[name]['p50']:>10.2f}"
            f"{summary[name]['p99']:>10.2f}{non2xx:>10.0f}"
        )
    print(
        f"ratio webhook/bare: {summary['webhook']['rps'] / summary['bare']['rps']:.2f} "
        f"(against the GET: {summary['webhook']['rps'] / summary['bare_get']['rps']:.2f})"
    )
    accepted = sum(r["requests"] - r["non2xx"] for r in results["webhook"])
    print(f"callbacks stored: {stored} (accepted in measured runs: {accepted:.0f}, plus warm-up)")
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
