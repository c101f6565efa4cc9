"""Sends replies through the Sinch Conversation API (`messages:send`) with an app's outbound key.

Sinch answers failures with its own sentence (`{"error": {"message": ...}}`); `SinchError` carries
that sentence so an operator can act on it, and never the key secret or an access token. Each
call to Sinch (a send, a token fetch) ends within READ_TIMEOUT overall, connect included
(`configurator.outbound`), so a worker is never held longer by a slow or trickling peer.
"""

from __future__ import annotations

import base64
import hashlib
import http.cookiejar
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from configurator.outbound import DeadlineAdapter, call_deadline
from configurator.secrets import MASK
from configurator.transactions import refuse_inside_transaction
from messaging import selectors
from messaging.choices import ApiAuthMethod

logger = logging.getLogger(__name__)

# Connecting may take CONNECT_TIMEOUT; the whole call (connect, TLS, request, answer) READ_TIMEOUT.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
MAX_RESPONSE_BYTES = 1024 * 1024
# Tokens are renewed this long before Sinch says they expire (or 10% of a shorter lifetime),
# so that a token never expires between being read from the cache and reaching Sinch.
TOKEN_RENEW_BEFORE = 60.0
TOKEN_RENEW_FRACTION = 0.1
ERROR_TEXT_LIMIT = 200
ERROR_MESSAGE_LIMIT = 500

# One session keeps connections to Sinch open between sends. It refuses cookies, so nothing on
# it changes after import and threads can share it (urllib3's pool is thread-safe).
_session = requests.Session()
_session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
_session.mount("https://", DeadlineAdapter())
_session.mount("http://", DeadlineAdapter())


@dataclass(frozen=True)
class SentMessage:
    """What Sinch answered to an accepted send."""

    message_id: str
    accepted_time: str


class SinchError(Exception):
    """A send failed; str(exc) is a clear sentence for an operator/API caller, never a secret."""

    status: int | None  # what Sinch answered; None when Sinch could not be reached

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SinchNotConfigured(SinchError):
    """No outbound credentials for the app: nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=None)


TokenKey = tuple[str, str, str]


class AccessTokenCache:
    """Per-process OAuth2 access tokens, one per access key, reused until shortly before expiry.

    Sinch issues tokens for about an hour and asks clients to reuse them; fetching one per send
    would double the calls. One fetch runs at a time per key, so a burst of sends after expiry
    fetches one token, not one each.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tokens: dict[TokenKey, tuple[str, float]] = {}
        self._fetching: dict[TokenKey, threading.Lock] = {}
        self._lock = threading.Lock()

    def get_or_fetch(
        self, key: TokenKey, fetch: Callable[[], tuple[str, float]]
    ) -> tuple[str, bool]:
        """A usable token and whether it was fetched just now (rather than taken from cache)."""
        token = self._valid(key)
        if token is not None:
            return token, False
        with self._lock:
            fetch_lock = self._fetching.setdefault(key, threading.Lock())
        with fetch_lock:
            token = self._valid(key)
            if token is not None:
                return token, False
            token, expires_in = fetch()
            renew_before = min(TOKEN_RENEW_BEFORE, expires_in * TOKEN_RENEW_FRACTION)
            with self._lock:
                self._tokens[key] = (token, self.clock() + expires_in - renew_before)
            return token, True

    def drop(self, key: TokenKey, token: str) -> None:
        """Forget a token Sinch refused, unless another thread already replaced it."""
        with self._lock:
            entry = self._tokens.get(key)
            if entry is not None and entry[0] == token:
                del self._tokens[key]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._fetching.clear()

    def _valid(self, key: TokenKey) -> str | None:
        with self._lock:
            entry = self._tokens.get(key)
        if entry is not None and self.clock() < entry[1]:
            return entry[0]
        return None


sinch_tokens = AccessTokenCache()


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes


@dataclass(frozen=True)
class _AccessKey:
    key_id: str
    secret: str


class _BearerAuth(requests.auth.AuthBase):
    """An explicit auth object, so that a ~/.netrc entry can never replace the token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def message_send(
    *,
    app_id: str,
    channel: str,
    identity: str,
    message: dict[str, Any],
    channel_properties: dict[str, str] | None = None,
) -> SentMessage:
    """Send an AppMessage (`{"text_message": ...}`) to a channel identity with the app's key."""
    app_id = app_id.upper()
    entry = selectors.outbound_authentication(app_id)
    if entry is None or entry.secret is None:
        raise SinchNotConfigured(f"No messaging service has outbound credentials for app {app_id}.")
    service = entry.service
    key = _AccessKey(key_id=entry.key_id, secret=entry.secret.reveal())
    url = _api_url(service.service_connection)
    body: dict[str, Any] = {
        "app_id": app_id,
        "recipient": {
            "identified_by": {"channel_identities": [{"channel": channel, "identity": identity}]}
        },
        "message": message,
    }
    if channel_properties:
        body["channel_properties"] = channel_properties
    logger.info(
        "Sending a %s message for app %s through messaging service %r (%s auth)",
        channel,
        app_id,
        service.name,
        service.auth_method,
    )
    try:
        if service.auth_method == ApiAuthMethod.BASIC:
            answer = _post_json(url, body, requests.auth.HTTPBasicAuth(key.key_id, key.secret))
        else:
            answer = _send_with_token(url, body, key)
        sent = _sent_message(answer)
    except SinchError as exc:
        error = _scrubbed(exc, key)
        logger.warning("Send for app %s failed: %s", app_id, error)
        raise error from None
    logger.info("Sinch accepted message %s for app %s", sent.message_id, app_id)
    return sent


def _send_with_token(url: str, body: dict[str, Any], key: _AccessKey) -> _Answer:
    """Send with a cached token; a token Sinch no longer accepts is replaced once."""
    token_url = str(settings.SINCH_OAUTH_TOKEN_URL)
    cache_key = (token_url, key.key_id, hashlib.sha256(key.secret.encode()).hexdigest())

    def fetch() -> tuple[str, float]:
        return _fetch_token(token_url, key)

    token, fresh = sinch_tokens.get_or_fetch(cache_key, fetch)
    answer = _post_json(url, body, _BearerAuth(token))
    if answer.status == 401:
        sinch_tokens.drop(cache_key, token)
        if not fresh:
            logger.info(
                "Sinch refused a cached access token of key %s; fetching a new one", key.key_id
            )
            token, _fresh = sinch_tokens.get_or_fetch(cache_key, fetch)
            answer = _post_json(url, body, _BearerAuth(token))
            if answer.status == 401:
                sinch_tokens.drop(cache_key, token)
    return answer


def _fetch_token(token_url: str, key: _AccessKey) -> tuple[str, float]:
    """An access token for the key and its lifetime in seconds (client credentials grant)."""
    logger.info("Fetching a Sinch access token for key %s", key.key_id)
    answer = _request(
        token_url,
        data={"grant_type": "client_credentials"},
        auth=requests.auth.HTTPBasicAuth(key.key_id, key.secret),
        what="Sinch's token endpoint",
    )
    if answer.status in (400, 401, 403):
        raise SinchError(
            f"Sinch refused the access key {key.key_id}: {_error_detail(answer)}",
            status=answer.status,
        )
    if not 200 <= answer.status < 300:
        raise SinchError(
            f"Sinch could not issue an access token for the key {key.key_id}: "
            f"{_error_detail(answer)}",
            status=answer.status,
        )
    payload = _json_object(answer.body)
    token = payload.get("access_token")
    if not isinstance(token, str) or not token:
        raise SinchError(
            f"Sinch's token endpoint answered {answer.status} without an access token.",
            status=answer.status,
        )
    return token, _lifetime(payload.get("expires_in"))


def _lifetime(expires_in: Any) -> float:
    """Seconds a token lives; without a usable lifetime it serves this send only."""
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        return 0.0
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0


def _post_json(url: str, body: dict[str, Any], auth: requests.auth.AuthBase) -> _Answer:
    return _request(url, json_body=body, auth=auth, what="Sinch")


def _request(
    url: str,
    *,
    auth: requests.auth.AuthBase,
    what: str,
    json_body: dict[str, Any] | None = None,
    data: dict[str, str] | None = None,
) -> _Answer:
    """POST within READ_TIMEOUT overall, no redirects, a bounded answer; failures are SinchError."""
    refuse_inside_transaction(f"POST {url}")
    with call_deadline(READ_TIMEOUT) as deadline:
        try:
            with _session.post(
                url,
                json=json_body,
                data=data,
                auth=auth,
                headers={"Accept": "application/json"},
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
                stream=True,
            ) as response:
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
                    raise _too_large(what, response.status_code)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_content(chunk_size=64 * 1024):
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise _too_large(what, response.status_code)
                    chunks.append(chunk)
                return _Answer(status=response.status_code, body=b"".join(chunks))
        except requests.RequestException as exc:
            host = urlsplit(url).netloc
            reason = (
                f"no answer within {READ_TIMEOUT:g} s" if deadline.expired else _network_reason(exc)
            )
            raise SinchError(f"{what} could not be reached at {host}: {reason}.") from None


def _too_large(what: str, status: int) -> SinchError:
    return SinchError(
        f"{what} answered {status} with more than {MAX_RESPONSE_BYTES // 1024} KiB; not read.",
        status=status,
    )


def _network_reason(exc: requests.RequestException) -> str:
    """A few words on why the connection failed, without urllib3's object reprs."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {CONNECT_TIMEOUT:g} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"no answer within {READ_TIMEOUT:g} s"
    reason: str | None = None
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and isinstance(current.strerror, str):
            reason = current.strerror
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [arg for arg in current.args if isinstance(arg, BaseException)]
        pending.extend(link for link in linked if isinstance(link, BaseException))
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS failed ({reason})" if reason else "TLS failed"
    if reason:
        return reason[:1].lower() + reason[1:]
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the answer broke off"
    return type(exc).__name__


def _sent_message(answer: _Answer) -> SentMessage:
    if not 200 <= answer.status < 300:
        raise SinchError(f"Sinch answered {_error_detail(answer)}", status=answer.status)
    payload = _json_object(answer.body)
    message_id = payload.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise SinchError(
            f"Sinch answered {answer.status} without a message ID.", status=answer.status
        )
    accepted_time = payload.get("accepted_time")
    return SentMessage(
        message_id=message_id, accepted_time=accepted_time if isinstance(accepted_time, str) else ""
    )


def _error_detail(answer: _Answer) -> str:
    """`400 INVALID_ARGUMENT: Sinch's sentence` from its error body, or the start of the text."""
    payload = _json_object(answer.body)
    if payload:
        error = payload.get("error")
        if isinstance(error, dict):
            # The Conversation API's shape: {"error": {"code", "message", "status", "details"}}.
            label = str(error.get("status") or "").strip()
            message = str(error.get("message") or "").strip()
        else:
            # OAuth2's shape (token endpoint): {"error": "invalid_client", "error_description"}.
            label = str(error or "").strip()
            message = str(payload.get("error_description") or payload.get("message") or "")
        message = message.strip()[:ERROR_MESSAGE_LIMIT]
        head = f"{answer.status} {label}" if label else str(answer.status)
        if message or label:
            return f"{head}: {message}" if message else head
    text = answer.body.decode("utf-8", "replace").strip()
    if not text:
        return f"{answer.status} with an empty body"
    return f"{answer.status}: {' '.join(text[:ERROR_TEXT_LIMIT].split())}"


def _json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; anything else (text, HTML, a list) as an empty one."""
    try:
        payload = json.loads(body)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _api_url(service_connection: str) -> str:
    """The messages:send URL, sent to SINCH_API_ORIGIN instead of Sinch's host when set."""
    origin = str(settings.SINCH_API_ORIGIN or "").rstrip("/")
    if not origin:
        return service_connection
    parts = urlsplit(service_connection)
    return origin + parts.path + (f"?{parts.query}" if parts.query else "")


def _scrubbed(exc: SinchError, key: _AccessKey) -> SinchError:
    """The same error, with the key secret masked should Sinch (or a proxy) ever echo it back."""
    text = str(exc)
    if key.secret:
        basic = base64.b64encode(f"{key.key_id}:{key.secret}".encode()).decode()
        text = text.replace(basic, MASK).replace(key.secret, MASK)
    return exc if text == str(exc) else SinchError(text, status=exc.status)
