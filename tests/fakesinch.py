"""A fake Sinch on 127.0.0.1: the OAuth2 token endpoint and the Conversation API's messages:send,
apps and webhooks.

It runs a real HTTP server in a background thread, records every request it receives, and
answers what the test scripted (by default: tokens for any key, and an accepted send with a
fresh message ID). Sends and API calls need a token it issued and has not revoked, or Basic
credentials. Apps exist once `add_app` made them; their webhooks are kept as the Conversation
API keeps them (at most five per app), listed with their secrets unless `hide_webhook_secrets`.
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
APP_PATH_RE = re.compile(r"^/v1/projects/(?P<project>[^/]+)/apps/(?P<app>[^/?]+)$")
APP_WEBHOOKS_PATH_RE = re.compile(
    r"^/v1/projects/(?P<project>[^/]+)/apps/(?P<app>[^/?]+)/webhooks$"
)
WEBHOOKS_PATH_RE = re.compile(r"^/v1/projects/(?P<project>[^/]+)/webhooks$")
WEBHOOK_PATH_RE = re.compile(r"^/v1/projects/(?P<project>[^/]+)/webhooks/(?P<webhook>[^/?]+)$")
# The Conversation API operations the fake serves besides sends, by (method, path pattern).
API_OPERATIONS: dict[str, tuple[str, re.Pattern[str]]] = {
    "get_app": ("GET", APP_PATH_RE),
    "list_webhooks": ("GET", APP_WEBHOOKS_PATH_RE),
    "create_webhook": ("POST", WEBHOOKS_PATH_RE),
    "update_webhook": ("PATCH", WEBHOOK_PATH_RE),
}
MAX_WEBHOOKS_PER_APP = 5


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
    # The Conversation API's apps (by app ID) and webhooks (by webhook ID), as JSON objects.
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Webhooks are listed without their secret (as an API that never shows one would).
    hide_webhook_secrets: bool = False
    _send_answers: deque[ScriptedAnswer] = field(default_factory=deque)
    _token_answers: deque[ScriptedAnswer] = field(default_factory=deque)
    _api_answers: dict[str, deque[ScriptedAnswer]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # -- running

    def start(self) -> FakeSinch:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

            def do_PATCH(self) -> None:
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

    def script_api(
        self,
        operation: str,
        status: int,
        json_body: Any = None,
        *,
        text: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next authorized call of an operation (`API_OPERATIONS`) with this."""
        assert operation in API_OPERATIONS, f"unknown operation {operation}"
        answer = _answer(status, json_body, text, None, delay)
        with self._lock:
            self._api_answers.setdefault(operation, deque()).append(answer)

    def add_app(
        self,
        app_id: str,
        *,
        processing_mode: str | None = "DISPATCH",
        channels: tuple[str, ...] = ("WHATSAPP",),
        display_name: str = "Support app",
    ) -> dict[str, Any]:
        """An app of the project, with credentials for these channels."""
        app: dict[str, Any] = {
            "id": app_id,
            "display_name": display_name,
            "channel_credentials": [
                {"channel": c, "static_bearer": {"claimed_identity": "x", "token": "channel-token"}}
                for c in channels
            ],
        }
        if processing_mode is not None:
            app["processing_mode"] = processing_mode
        with self._lock:
            self.apps[app_id] = app
        return app

    def add_webhook(
        self,
        app_id: str,
        target: str,
        *,
        triggers: list[str] | None = None,
        secret: str | None = None,
        target_type: str = "HTTP",
    ) -> str:
        """A webhook of an app, as if set in Sinch's dashboard; returns its ID."""
        webhook_id = "01WH" + uuid.uuid4().hex[:22].upper()
        webhook: dict[str, Any] = {
            "id": webhook_id,
            "app_id": app_id,
            "target": target,
            "target_type": target_type,
            "triggers": list(triggers or ["MESSAGE_INBOUND"]),
        }
        if secret is not None:
            webhook["secret"] = secret
        with self._lock:
            self.webhooks[webhook_id] = webhook
        return webhook_id

    def webhooks_of(self, app_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(w) for w in self.webhooks.values() if w["app_id"] == app_id]

    def revoke_tokens(self) -> None:
        """Sends with any token issued so far are answered 401, as after a key rotation."""
        with self._lock:
            self.revoked_tokens.update(self.issued_tokens)

    # -- what was received

    @property
    def sends(self) -> list[RecordedRequest]:
        return [r for r in self.requests if SEND_PATH_RE.match(r.path)]

    @property
    def api_requests(self) -> list[RecordedRequest]:
        """Calls of the apps and webhooks endpoints (`API_OPERATIONS`)."""
        return [r for r in self.requests if _operation(r.method, r.path) is not None]

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
        request = RecordedRequest(handler.command, handler.path, headers, raw, body)
        with self._lock:
            self.requests.append(request)
        operation = _operation(handler.command, handler.path)
        if handler.path == TOKEN_PATH and handler.command == "POST":
            answer = self._token_answer(request)
        elif SEND_PATH_RE.match(handler.path) and handler.command == "POST":
            answer = self._send_answer(request)
        elif operation is not None:
            answer = self._api_answer(operation, request)
        else:
            answer = _answer(404, sinch_error(404, "Not found", "NOT_FOUND"), None, None, 0.0)
        if answer.delay:
            time.sleep(answer.delay)
        try:
            handler.send_response(answer.status)
            handler.send_header("Content-Type", answer.content_type)
            handler.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a test of a slow Sinch): nothing to answer

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

    def _unauthorized(self, request: RecordedRequest) -> ScriptedAnswer | None:
        """401 for a call without Basic credentials or a live token it issued (lock held)."""
        token = request.bearer_token
        authorized = request.basic_credentials is not None or (
            token in self.issued_tokens and token not in self.revoked_tokens
        )
        if authorized:
            return None
        body = sinch_error(
            401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"
        )
        return _answer(401, body, None, None, 0.0)

    def _api_answer(self, operation: str, request: RecordedRequest) -> ScriptedAnswer:
        with self._lock:
            refused = self._unauthorized(request)
            if refused is not None:
                return refused
            scripted = self._api_answers.get(operation)
            if scripted:
                return scripted.popleft()
            path = request.path.split("?", 1)[0]
            if operation == "get_app":
                match = APP_PATH_RE.match(path)
                assert match is not None
                app = self.apps.get(match["app"])
                if app is None:
                    return _not_found(f"App {match['app']} not found")
                return _answer(200, app, None, None, 0.0)
            if operation == "list_webhooks":
                match = APP_WEBHOOKS_PATH_RE.match(path)
                assert match is not None
                if match["app"] not in self.apps:
                    return _not_found(f"App {match['app']} not found")
                listed = [
                    self._shown(w) for w in self.webhooks.values() if w["app_id"] == match["app"]
                ]
                return _answer(200, {"webhooks": listed}, None, None, 0.0)
            if operation == "create_webhook":
                return self._create_webhook(request.body)
            match = WEBHOOK_PATH_RE.match(path)
            assert match is not None
            return self._update_webhook(match["webhook"], request.body)

    def _create_webhook(self, body: Any) -> ScriptedAnswer:
        if not isinstance(body, dict) or not body.get("target") or not body.get("app_id"):
            return _answer(
                400,
                sinch_error(400, "target and app_id are required", "INVALID_ARGUMENT"),
                None,
                None,
                0.0,
            )
        if body["app_id"] not in self.apps:
            return _not_found(f"App {body['app_id']} not found")
        if (
            sum(w["app_id"] == body["app_id"] for w in self.webhooks.values())
            >= MAX_WEBHOOKS_PER_APP
        ):
            error = sinch_error(
                400, "The app already has the maximum of 5 webhooks", "FAILED_PRECONDITION"
            )
            return _answer(400, error, None, None, 0.0)
        webhook_id = "01WH" + uuid.uuid4().hex[:22].upper()
        webhook = {
            "id": webhook_id,
            "app_id": body["app_id"],
            "target": body["target"],
            "target_type": body.get("target_type", "DISMISS"),
            "triggers": list(body.get("triggers") or []),
        }
        if body.get("secret"):
            webhook["secret"] = body["secret"]
        self.webhooks[webhook_id] = webhook
        return _answer(200, self._shown(webhook), None, None, 0.0)

    def _update_webhook(self, webhook_id: str, body: Any) -> ScriptedAnswer:
        webhook = self.webhooks.get(webhook_id)
        if webhook is None:
            return _not_found(f"Webhook {webhook_id} not found")
        if not isinstance(body, dict):
            return _answer(
                400, sinch_error(400, "A webhook is required", "INVALID_ARGUMENT"), None, None, 0.0
            )
        for name in ("target", "target_type", "triggers", "secret"):
            if name in body:
                webhook[name] = body[name]
        return _answer(200, self._shown(webhook), None, None, 0.0)

    def _shown(self, webhook: dict[str, Any]) -> dict[str, Any]:
        shown = dict(webhook)
        if self.hide_webhook_secrets:
            shown.pop("secret", None)
        return shown

    def _send_answer(self, request: RecordedRequest) -> ScriptedAnswer:
        with self._lock:
            refused = self._unauthorized(request)
            if refused is not None:
                return refused
            if self._send_answers:
                return self._send_answers.popleft()
        accepted = datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        message_id = "01" + uuid.uuid4().hex[:24].upper()
        return _answer(200, {"message_id": message_id, "accepted_time": accepted}, None, None, 0.0)


def _operation(method: str, path: str) -> str | None:
    """Which apps/webhooks operation a request calls, if any."""
    bare = path.split("?", 1)[0]
    for name, (verb, pattern) in API_OPERATIONS.items():
        if method == verb and pattern.match(bare):
            return name
    return None


def _not_found(message: str) -> ScriptedAnswer:
    return _answer(404, sinch_error(404, message, "NOT_FOUND"), None, None, 0.0)


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
