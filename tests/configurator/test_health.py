"""Health probes: /health/live and /health/ready, as load balancers and orchestrators call them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.utils import timezone

from configurator import health, workers
from configurator.models import WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _read_migrations_afresh() -> Iterator[None]:
    health.migrations_check_forget()
    yield
    health.migrations_check_forget()


def _probe(client: Client, path: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    response = client.get(path, **extra)
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content)


def test_live_answers_without_login_or_database_with_or_without_a_slash(client: Client) -> None:
    for path in ("/health/live", "/health/live/"):
        status, body = _probe(client, path)
        assert (status, body) == (200, {"status": "ok", "checks": {}})


@pytest.mark.django_db
def test_ready_fails_without_a_worker_heartbeat(client: Client) -> None:
    status, body = _probe(client, "/health/ready")
    assert status == 503
    assert body == {
        "status": "unavailable",
        "checks": {
            "database": {"status": "ok"},
            "migrations": {"status": "ok"},
            "worker": {"status": "unavailable", "detail": "no worker seen in the last 120 s"},
        },
    }


@pytest.mark.django_db
def test_ready_passes_with_a_fresh_heartbeat_and_fails_once_it_is_stale(
    client: Client, settings: Any
) -> None:
    workers.heartbeat()
    status, body = _probe(client, "/health/ready/")
    assert (status, body["status"]) == (200, "ok")
    assert set(body["checks"]) == {"database", "migrations", "worker"}

    settings.WORKER_STALE_SECONDS = 30
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(seconds=31))
    status, body = _probe(client, "/health/ready")
    assert status == 503
    assert body["checks"]["worker"]["detail"] == "no worker seen in the last 30 s"


@pytest.mark.django_db
def test_ready_fails_while_a_migration_is_not_applied(client: Client) -> None:
    workers.heartbeat()
    # The newest one: a deployment that skipped `migrate` lacks the last migrations.
    newest = MigrationRecorder.Migration.objects.filter(app="configurator").order_by("-name")[0]
    newest.delete()
    status, body = _probe(client, "/health/ready")
    assert status == 503
    assert body["checks"]["migrations"] == {
        "status": "unavailable",
        "detail": "1 migrations are not applied",
    }
    assert body["checks"]["worker"] == {"status": "ok"}


@pytest.mark.django_db
def test_probes_answer_plain_http_by_address_with_the_https_redirect_on(
    client: Client, settings: Any
) -> None:
    """A kubelet calls http://10.1.2.3:8000/health/ready: no redirect, no 400 for the host."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["configurator.example.com"]
    workers.heartbeat()
    for path in ("/health/live", "/health/ready"):
        status, _ = _probe(client, path, HTTP_HOST="10.1.2.3:8000")
        assert status == 200
    # Everything else still goes through both checks.
    assert client.get("/admin/", HTTP_HOST="10.1.2.3:8000").status_code == 400
    redirected = client.get("/admin/", HTTP_HOST="configurator.example.com")
    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")


def test_probes_are_never_cached_and_refuse_other_methods(client: Client) -> None:
    response = client.get("/health/live")
    assert "no-cache" in response["Cache-Control"]
    assert client.post("/health/live").status_code == 405


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - our own server
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def test_ready_fails_when_the_database_is_unreachable_and_says_nothing_about_it() -> None:
    """A real gunicorn whose database (PostgreSQL on a closed port) does not answer."""
    closed = _free_port()
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://probe-user:probe-password@127.0.0.1:{closed}/nowhere",
        "PYTHONUNBUFFERED": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "configurator.wsgi", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, content = _get(f"http://127.0.0.1:{port}/health/live")
                break
            except OSError:
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.05)
        assert (status, json.loads(content)["status"]) == (200, "ok")
        status, content = _get(f"http://127.0.0.1:{port}/health/ready")
        assert status == 503
        assert json.loads(content)["checks"]["database"] == {
            "status": "unavailable",
            "detail": "the database does not answer",
        }
        for secretish in (str(closed), "probe-user", "probe-password", "nowhere", "127.0.0.1"):
            assert secretish.encode() not in content
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "probe-password" not in output
