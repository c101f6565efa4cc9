"""A raw-socket HTTP(S) server on 127.0.0.1 that misbehaves on cue, for outbound deadline tests.

`http.server` answers in one go; the faults that hold a client past its timeout need a peer that
writes byte by byte: a TLS handshake never finished, header lines or body bytes trickled at an
interval, an answer that stops half-way. Each request takes the next scripted answer (then
`ok()` again), and connections are kept alive, so a test can see whether a connection cut by the
deadline is ever used again (`connections` counts the TCP connections accepted).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import trustme

# How long a misbehaving answer would go on if the client did not cut it.
HOLD_SECONDS = 20.0
OK_BODY = b'{"ok": true, "message_id": "01SLOWPEER", "accepted_time": "now"}'

# An answer writes to the connection; it returns True when the connection may serve another
# request. `stop` is set when the test ends, so that no answer outlives its test.
Answer = Callable[[Callable[[bytes], None], threading.Event], bool]


def ok(body: bytes = OK_BODY) -> Answer:
    """A normal answer: 200, JSON, Content-Length, keep-alive."""

    def answer(write: Callable[[bytes], None], stop: threading.Event) -> bool:
        write(_head(len(body)) + body)
        return True

    return answer


def trickle_headers(interval: float) -> Answer:
    """The status line, then one more header line every `interval` seconds, never the end."""

    def answer(write: Callable[[bytes], None], stop: threading.Event) -> bool:
        write(b"HTTP/1.1 200 OK\r\n")
        number = 0
        while not stop.wait(interval) and number * interval < HOLD_SECONDS:
            number += 1
            write(f"X-Slow-{number}: {number}\r\n".encode())
        return False

    return answer


def trickle_body(interval: float, *, chunked: bool = False) -> Answer:
    """All the headers at once, then one body byte every `interval` seconds."""

    def answer(write: Callable[[bytes], None], stop: threading.Event) -> bool:
        if chunked:
            write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
        else:
            write(_head(100_000))
        elapsed = 0.0
        while not stop.wait(interval) and elapsed < HOLD_SECONDS:
            elapsed += interval
            write(b"1\r\n \r\n" if chunked else b" ")
        return False

    return answer


def silent() -> Answer:
    """Reads the request and never answers."""

    def answer(write: Callable[[bytes], None], stop: threading.Event) -> bool:
        stop.wait(HOLD_SECONDS)
        return False

    return answer


def stall_after_part() -> Answer:
    """Headers and the start of the body, then nothing more."""

    def answer(write: Callable[[bytes], None], stop: threading.Event) -> bool:
        write(_head(len(OK_BODY)) + OK_BODY[:10])
        stop.wait(HOLD_SECONDS)
        return False

    return answer


def _head(length: int) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % length
    )


class SlowPeer:
    """The running peer: its URL, the answers it will give, the connections it accepted."""

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self._context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        self.url = f"{'https' if context else 'http'}://127.0.0.1:{port}"
        self.answers: deque[Answer] = deque()
        # The next accepted connection never finishes (or, over plain HTTP, never reads).
        self.stall_handshake = False
        self.connections = 0
        self.requests = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self.answers.extend(answers)

    def close(self) -> None:
        self.stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _address = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                stall, self.stall_handshake = self.stall_handshake, False
            threading.Thread(target=self._serve, args=(conn, stall), daemon=True).start()

    def _serve(self, conn: socket.socket, stall: bool) -> None:
        conn.settimeout(HOLD_SECONDS + 5)
        try:
            if stall:
                self.stop.wait(HOLD_SECONDS)
                return
            stream: Any = (
                self._context.wrap_socket(conn, server_side=True) if self._context else conn
            )
            with stream:
                while self._read_request(stream):
                    with self._lock:
                        self.requests += 1
                        answer = self.answers.popleft() if self.answers else ok()
                    if not answer(stream.sendall, self.stop):
                        return
        except OSError:
            pass  # the client cut the connection: what these tests expect
        finally:
            conn.close()

    def _read_request(self, stream: Any) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = stream.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = stream.recv(65536)
            if not chunk:
                return False
            body += chunk
        return True


def tls_context(ca: trustme.CA) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 that `ca` signed."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context
