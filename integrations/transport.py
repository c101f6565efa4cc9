"""The one hardened session integrations send through: HTTPS only, no redirects, bounded reads.

Every connection is checked where it is made: the address the socket actually reached (after DNS,
so a name that resolves to an internal address is caught, and DNS rebinding cannot slip past an
earlier check) must be a public one, unless `INTEGRATIONS_ALLOWED_NETWORKS` lists it.
Certificates are verified (against `INTEGRATIONS_CA_BUNDLE` when set); environment proxies are
ignored. The whole call (connect, TLS handshake, request, headers, body) ends within its `timeout`
(`configurator.outbound`): a peer that trickles header lines or body bytes is cut like one that
never answers. Sending returns an `HttpAnswer` whatever the status; it raises `TransportError`
only when there is no answer, saying whether trying again could help.
"""

from __future__ import annotations

import http.cookiejar
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.auth
from django.conf import settings
from urllib3.connectionpool import HTTPConnectionPool

from configurator.networks import networks
from configurator.outbound import (
    CallDeadline,
    DeadlineAdapter,
    DeadlineHTTPConnection,
    DeadlineHTTPPool,
    DeadlineHTTPSConnection,
    DeadlineHTTPSPool,
    call_deadline,
)
from configurator.transactions import refuse_inside_transaction

MAX_RESPONSE_BYTES = 256 * 1024
EXCERPT_CHARS = 2000
USER_AGENT = "Configurator-Integrations/1"


class TransportError(Exception):
    """No usable answer: `retryable` says whether a later attempt could get one."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class RefusedAddress(Exception):
    """The endpoint resolved to an address integrations may not reach (not an OSError)."""


@dataclass(frozen=True)
class HttpAnswer:
    """What the endpoint answered: status, headers, the body (JSON when it is JSON), timing."""

    status: int
    headers: dict[str, str]
    body: Any
    excerpt: str
    truncated: bool
    duration_ms: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def address_refusal(address: str) -> str | None:
    """Why integrations may not connect to `address` (None when they may)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    allowed = networks(tuple(settings.INTEGRATIONS_ALLOWED_NETWORKS))
    if any(ip in network for network in allowed):
        return None
    if ip.is_global and not ip.is_multicast:
        return None
    kind = (
        "a loopback"
        if ip.is_loopback
        else "a link-local (cloud metadata)"
        if ip.is_link_local
        else "a private"
        if ip.is_private
        else "a non-public"
    )
    return (
        f"{ip} is {kind} address; integrations only call public addresses "
        "(an operator can allow a network with INTEGRATIONS_ALLOWED_NETWORKS)"
    )


def _checked(sock: socket.socket) -> socket.socket:
    problem = address_refusal(str(sock.getpeername()[0]))
    if problem:
        sock.close()
        raise RefusedAddress(problem)
    return sock


class _GuardedHTTPSConnection(DeadlineHTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn())


class _GuardedHTTPConnection(DeadlineHTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn())


class _GuardedHTTPSPool(DeadlineHTTPSPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedHTTPPool(DeadlineHTTPPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedAdapter(DeadlineAdapter):
    pool_classes: dict[str, type[HTTPConnectionPool]] = {
        "http": _GuardedHTTPPool,
        "https": _GuardedHTTPSPool,
    }


def _new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    session.headers["User-Agent"] = USER_AGENT
    adapter = _GuardedAdapter(pool_connections=32, pool_maxsize=32, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


# Shared by the threads of a process: it keeps connections open and refuses cookies, so nothing
# on it changes after it is built (urllib3's pool is thread-safe).
_session = _new_session()


def url_problem(url: str) -> str | None:
    """Why a rendered URL cannot be called (None when it can)."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return f"only https:// endpoints are called, not “{parts.scheme or url}”"
    if not parts.hostname:
        return "the endpoint URL has no host"
    return None


def send(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    params: Mapping[str, str],
    body: Any = None,
    has_body: bool = False,
    timeout: float,
    auth: requests.auth.AuthBase | None = None,
    data: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """Send one request and read its answer up to MAX_RESPONSE_BYTES within `timeout` seconds."""
    refuse_inside_transaction(f"{method} {url}")
    problem = url_problem(url)
    if problem:
        raise TransportError(problem, retryable=False)
    started = time.monotonic()
    kwargs: dict[str, Any] = {}
    if has_body:
        kwargs["json"] = body
    if data is not None:
        kwargs["data"] = dict(data)
    with call_deadline(timeout) as deadline:
        try:
            response = _session.request(
                method,
                url,
                params=dict(params) or None,
                headers=dict(headers),
                auth=auth,
                timeout=(timeout, timeout),
                allow_redirects=False,
                stream=True,
                verify=settings.INTEGRATIONS_CA_BUNDLE or True,
                **kwargs,
            )
        except RefusedAddress as exc:
            raise TransportError(str(exc), retryable=False) from None
        except requests.exceptions.RequestException as exc:
            raise _unanswered(exc, deadline) from None
        try:
            raw, truncated = _read(response, deadline)
        finally:
            response.close()
    headers_out = {name: value for name, value in response.headers.items()}
    text = raw.decode(response.encoding or "utf-8", errors="replace")
    return HttpAnswer(
        status=response.status_code,
        headers=headers_out,
        body=_body(text, truncated),
        excerpt=text[:EXCERPT_CHARS],
        truncated=truncated,
        duration_ms=round((time.monotonic() - started) * 1000),
    )


def _unanswered(
    exc: requests.exceptions.RequestException, deadline: CallDeadline
) -> TransportError:
    """The failure to report: past the deadline it is the timeout, whatever broke on the way."""
    if deadline.expired or isinstance(exc, requests.exceptions.Timeout):
        return TransportError(f"no answer within {deadline.seconds:g} s", retryable=True)
    if isinstance(exc, requests.exceptions.SSLError):
        return TransportError(f"TLS failed: {_reason(exc)}", retryable=False)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return TransportError(f"could not connect: {_reason(exc)}", retryable=True)
    return TransportError(f"the request could not be sent: {exc}", retryable=False)


def _read(response: requests.Response, deadline: CallDeadline) -> tuple[bytes, bool]:
    """The body up to the bound, within the call's deadline (a trickle is cut like a silence)."""
    data = bytearray()
    try:
        for chunk in response.iter_content(16 * 1024):
            data += chunk
            if len(data) > MAX_RESPONSE_BYTES:
                return bytes(data[:MAX_RESPONSE_BYTES]), True
    except requests.exceptions.RequestException as exc:
        if deadline.expired:
            raise _unanswered(exc, deadline) from None
        raise TransportError(f"the answer broke off: {_reason(exc)}", retryable=True) from None
    return bytes(data), False


def _body(text: str, truncated: bool) -> Any:
    """JSON when the whole body is JSON; the text otherwise; None when empty."""
    if not text.strip():
        return None
    if truncated:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _reason(exc: Exception) -> str:
    """The innermost cause, without the long urllib3 wrapper text."""
    cause: BaseException = exc
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    text = str(cause) or type(cause).__name__
    return text[:300]


class OAuthTokens:
    """Client-credentials tokens, per (token URL, client, scope), until shortly before expiry."""

    RENEW_BEFORE = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}

    def token(
        self, *, token_url: str, client_id: str, secret: str, scope: str, timeout: float
    ) -> str:
        """A valid access token, fetched when none is cached (TransportError when refused)."""
        key = (token_url, client_id, scope)
        with self._lock:
            cached = self._tokens.get(key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        answer = send(
            method="POST",
            url=token_url,
            headers={"Accept": "application/json"},
            params={},
            data=form,
            timeout=timeout,
            auth=requests.auth.HTTPBasicAuth(client_id, secret),
        )
        body = answer.body if isinstance(answer.body, dict) else {}
        token = body.get("access_token")
        if not answer.ok or not isinstance(token, str) or not token:
            raise TransportError(
                f"the OAuth token endpoint answered {answer.status} without an access token",
                retryable=answer.status == 429 or answer.status >= 500,
            )
        lifetime = float(body.get("expires_in") or 300)
        expires = time.monotonic() + max(lifetime - self.RENEW_BEFORE, lifetime / 2)
        with self._lock:
            self._tokens[key] = (token, expires)
        return token

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


oauth_tokens = OAuthTokens()
