"""A real gunicorn with configurator.gunicorn_config: with LOG_FORMAT=json every line is JSON."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import urllib.request

import pytest

from tests.tcpproxy import free_port
from tests.workers import start_gunicorn, wait_until


@pytest.mark.django_db(transaction=True)
def test_gunicorn_s_own_lines_are_json_even_when_a_worker_is_killed() -> None:
    port = free_port()
    server = start_gunicorn(port, workers=2, LOG_FORMAT="json", GUNICORN_ACCESS_LOG="true")
    lines: list[str] = []

    def read() -> None:
        assert server.stdout is not None
        lines.extend(server.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:

        def booted() -> list[int]:
            return [
                int(match.group(1))
                for line in list(lines)
                if (match := re.search(r"Booting worker with pid: (\d+)", line))
            ]

        wait_until(lambda: len(booted()) >= 2, 60, "two gunicorn workers")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=30) as answer:
            assert answer.status == 200
        # Written once the answer is out: wait for it before a worker is killed.
        wait_until(lambda: any("GET /health/live" in line for line in lines), 60, "access line")
        victim = booted()[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(booted()) >= 3, 60, "a worker booted in the killed one's place")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        reader.join(timeout=10)
    logged = [json.loads(line) for line in lines if line.strip()]  # every line is JSON
    messages = [line["message"] for line in logged]
    assert any(message.startswith("Listening at: http://127.0.0.1:") for message in messages)
    killed = [
        line for line in logged if f"Worker (pid:{victim}) was sent SIGKILL" in line["message"]
    ]
    assert killed and killed[0]["logger"] == "gunicorn.error"
    assert killed[0]["level"] == "ERROR"
    access = [line for line in logged if line["logger"] == "gunicorn.access"]
    assert any("GET /health/live" in line["message"] for line in access)
    assert server.returncode == 0
