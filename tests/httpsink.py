"""An HTTPS endpoint on 127.0.0.1 for integration tests, with a test CA made by trustme.

It records every request and answers what the test scripted (status, JSON body, headers, a delay
before answering); by default 200 with `{"ok": true}`. Integrations verify its certificate
through `INTEGRATIONS_CA_BUNDLE`, which the `https_sink` fixture points at the test CA.
"""

from __future__ import annotations

import json
import selectors
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import trustme


@dataclass(frozen=True)
class SinkRequest:
    """One request as the sink received it (header names lower-case)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw_body: bytes
    received_at: float

    @property
    def json(self) -> Any:
        return json.loads(self.raw_body) if self.raw_body else None


@dataclass
class SinkAnswer:
    """What the sink answers to one request."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None
    # Hold the answer until this is set (at most `delay` seconds): a hanging endpoint that the
    # test releases once it has seen what it wanted.
    hold: threading.Event | None = None
    # Answer with the request itself (method, path with query, headers, body as text).
    echo: bool = False


class HttpsSink:
    """The running server: its URL, what it received, what it will answer next."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self.url = f"https://127.0.0.1:{server.server_address[1]}"
        self.requests: list[SinkRequest] = []
        self.answers: deque[SinkAnswer] = deque()
        self.default = SinkAnswer()
        self.lock = threading.Lock()
        self.received = threading.Condition(self.lock)

    def answer(self, *answers: SinkAnswer) -> None:
        """Answer the next requests with these, in order; then the default again."""
        with self.lock:
            self.answers.extend(answers)

    def next_answer(self) -> SinkAnswer:
        with self.lock:
            return self.answers.popleft() if self.answers else self.default

    def record(self, request: SinkRequest) -> None:
        with self.received:
            self.requests.append(request)
            self.received.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[SinkRequest]:
        """Block until `count` requests arrived (AssertionError after `timeout`)."""
        with self.received:
            ok = self.received.wait_for(lambda: len(self.requests) >= count, timeout)
            assert ok, f"expected {count} requests, got {len(self.requests)}"
            return list(self.requests)


class _Handler(BaseHTTPRequestHandler):
    server: Any
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this the client's delayed ACK holds each
    # answer ~40 ms (the benchmark measures the runtime, not Nagle's algorithm).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        sink: HttpsSink = self.server.sink
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        sink.record(
            SinkRequest(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                raw_body=raw,
                received_at=time.time(),
            )
        )
        answer = sink.next_answer()
        if answer.hold is not None:
            answer.hold.wait(answer.delay)
        elif answer.delay:
            time.sleep(answer.delay)
        body = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
        if answer.echo:
            body = json.dumps(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": raw.decode("utf-8", errors="replace"),
                }
            ).encode()
        try:
            self.send_response(answer.status)
            headers = {"Content-Type": "application/json", **answer.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up (a timeout test)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _SinkServer(ThreadingHTTPServer):
    """A threading HTTP server that stops at once: `shutdown()` wakes its loop through a socket
    pair, where socketserver's loop notices a shutdown only at its next poll (every 0.5 s, which
    made most of an integration test's time its teardown)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._serving = threading.Event()
        self._stopped = threading.Event()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._serving.set()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self, selectors.EVENT_READ)
                selector.register(self._wake_reader, selectors.EVENT_READ)
                while True:
                    ready = [key.fileobj for key, _ in selector.select()]
                    if self._wake_reader in ready:
                        return
                    self.handle_request()  # ready: accepts without waiting
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        self._wake_writer.send(b"\0")
        if self._serving.is_set():
            self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()


@pytest.fixture(scope="session")
def sink_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    """A test certificate authority and its certificate as a PEM file."""
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


def start_sink(ca: trustme.CA) -> tuple[HttpsSink, ThreadingHTTPServer]:
    """Start a sink on a free port (for the fixture and the benchmark)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = _SinkServer(("127.0.0.1", 0))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    sink = HttpsSink(server)
    server.sink = sink  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return sink, server


@pytest.fixture
def https_sink(sink_ca: tuple[trustme.CA, Path], settings: Any) -> Iterator[HttpsSink]:
    """A running HTTPS endpoint whose certificate integrations trust."""
    ca, bundle = sink_ca
    settings.INTEGRATIONS_CA_BUNDLE = str(bundle)
    sink, server = start_sink(ca)
    yield sink
    server.shutdown()
    server.server_close()
