"""A fake Sinch on 127.0.0.1: the OAuth2 token endpoint and the Conversation API's messages:send.

It runs a real HTTP server in a background thread, records every request it receives, and
answers what the test scripted (by default: tokens for any key, and an accepted send with a
fresh message ID). Sends need a token it issued and has not revoked, or Basic credentials.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from configurator.http_tokens import oauth_tokens

TOKEN_PATH = "/oauth2/token"
SEND_PATH_RE = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it (header names lower-case)."""

    method: str
    path: str
    headers: dict[str, str]
    raw_body: bytes
    body: Any  # JSON for sends, the form fields for token requests

    @property
    def basic_credentials(self) -> tuple[str, str] | None:
        """(key ID, secret) of a Basic Authorization header."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme != "Basic":
            return None
        key_id, _, secret = base64.b64decode(value).decode().partition(":")
        return key_id, secret

    @property
    def bearer_token(self) -> str | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        return value if scheme == "Bearer" else None


@dataclass(frozen=True)
class ScriptedAnswer:
    """An answer the test chose for the next request of one kind."""

    status: int
    body: bytes
    content_type: str = "application/json"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeSinch:
    """The fake's state; start it with `start()` (the `fake_sinch` fixture does)."""

    token_expires_in: int = 3600
    requests: list[RecordedRequest] = field(default_factory=list)
    issued_tokens: list[str] = field(default_factory=list)
    revoked_tokens: set[str] = field(default_factory=set)
    _send_answers: deque[ScriptedAnswer] = field(default_factory=deque)
    _token_answers: deque[ScriptedAnswer] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # -- running

    def start(self) -> FakeSinch:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def origin(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_url(self) -> str:
        return self.origin + TOKEN_PATH

    # -- scripting

    def script_send(
        self,
        status: int,
        json_body: Any = None,
        *,
        text: str | None = None,
        content_type: str | None = None,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next authorized send with this status and body (JSON, or text)."""
        answer = _answer(status, json_body, text, content_type, delay)
        self._send_answers.append(replace(answer, headers=headers or {}))

    def script_token(
        self,
        status: int,
        json_body: Any = None,
        *,
        text: str | None = None,
        content_type: str | None = None,
    ) -> None:
        """Answer the next token request with this status and body."""
        self._token_answers.append(_answer(status, json_body, text, content_type, 0.0))

    def revoke_tokens(self) -> None:
        """Sends with any token issued so far are answered 401, as after a key rotation."""
        with self._lock:
            self.revoked_tokens.update(self.issued_tokens)

    # -- what was received

    @property
    def sends(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path != TOKEN_PATH]

    @property
    def token_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == TOKEN_PATH]

    # -- serving

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        headers = {name.lower(): value for name, value in handler.headers.items()}
        if handler.path == TOKEN_PATH:
            body: Any = dict(parse_qsl(raw.decode()))
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
        request = RecordedRequest("POST", handler.path, headers, raw, body)
        with self._lock:
            self.requests.append(request)
        if handler.path == TOKEN_PATH:
            answer = self._token_answer(request)
        elif SEND_PATH_RE.match(handler.path):
            answer = self._send_answer(request)
        else:
            answer = _answer(404, sinch_error(404, "Not found", "NOT_FOUND"), None, None, 0.0)
        if answer.delay:
            time.sleep(answer.delay)
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(answer.body)

    def _token_answer(self, request: RecordedRequest) -> ScriptedAnswer:
        with self._lock:
            if self._token_answers:
                return self._token_answers.popleft()
        if request.body.get("grant_type") != "client_credentials" or not request.basic_credentials:
            return _answer(400, {"error": "invalid_request"}, None, None, 0.0)
        token = f"token-{uuid.uuid4().hex}"
        with self._lock:
            self.issued_tokens.append(token)
        payload = {
            "access_token": token,
            "expires_in": self.token_expires_in,
            "token_type": "bearer",
        }
        return _answer(200, payload, None, None, 0.0)

    def _send_answer(self, request: RecordedRequest) -> ScriptedAnswer:
        token = request.bearer_token
        with self._lock:
            authorized = request.basic_credentials is not None or (
                token in self.issued_tokens and token not in self.revoked_tokens
            )
            if not authorized:
                body = sinch_error(
                    401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"
                )
                return _answer(401, body, None, None, 0.0)
            if self._send_answers:
                return self._send_answers.popleft()
        accepted = datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        message_id = "01" + uuid.uuid4().hex[:24].upper()
        return _answer(200, {"message_id": message_id, "accepted_time": accepted}, None, None, 0.0)


def sinch_error(code: int, message: str, status: str) -> dict[str, Any]:
    """An error body as the Conversation API writes it."""
    return {"error": {"code": code, "message": message, "status": status, "details": []}}


def _answer(
    status: int, json_body: Any, text: str | None, content_type: str | None, delay: float
) -> ScriptedAnswer:
    if text is not None:
        return ScriptedAnswer(status, text.encode(), content_type or "text/plain", delay)
    body = b"" if json_body is None else json.dumps(json_body).encode()
    return ScriptedAnswer(status, body, content_type or "application/json", delay)


@pytest.fixture
def fake_sinch(settings: Any) -> Iterator[FakeSinch]:
    """A running fake Sinch that the client talks to instead of sinch.com."""
    fake = FakeSinch().start()
    settings.SINCH_API_ORIGIN = fake.origin
    settings.SINCH_OAUTH_TOKEN_URL = fake.token_url
    oauth_tokens.clear()
    yield fake
    oauth_tokens.clear()
    fake.stop()
