"""The one hardened outbound HTTP client: every call that leaves the process goes through it.

A `HardenedSession` sends one request and returns an `HttpAnswer` whatever the status; it raises
`OutboundError` only when there is no usable answer, with the reason in words and whether a later
attempt could get one. What every session does: no redirects, no cookies, no call inside a
transaction the project opened, one deadline for the whole call (`configurator.outbound`: connect,
TLS handshake, request, headers, body), answers read up to a bound (cut, or refused). What a
session chooses: HTTPS only, the address filter (the address each new connection actually
reached, after DNS, is checked, so a name resolving to an internal address or a DNS rebinding
cannot slip past), environment proxies, the CA bundle, a shorter connect timeout.

Integrations (`integrations.transport`: HTTPS only, filtered, proxies ignored) and the Sinch
client (`messaging.sinch.client`: no filter, as an operator's proxy may stand in front of Sinch)
each hold one session; both fetch OAuth tokens through `configurator.http_tokens`.
"""

from __future__ import annotations

import contextvars
import http.cookiejar
import ipaddress
import json
import socket
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
import requests.auth
from urllib3.connectionpool import HTTPConnectionPool

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

EXCERPT_CHARS = 2000
REASON_CHARS = 300

AddressFilter = Callable[[str], str | None]


class Oversize(StrEnum):
    """What a session does with an answer longer than its bound."""

    CUT = "cut"  # keep the first bytes and say the answer was truncated
    REFUSE = "refuse"  # read none of it: an OutboundError naming the status


class OutboundError(Exception):
    """No usable answer. `str()` is the reason for whoever reads a record of the call.

    `detail` is what failed on the way, for a caller that words its own sentence around it
    ("Sinch could not be reached at host: {detail}."); `retryable` says whether a later attempt
    could get an answer; `status` is set when an answer came but could not be used.
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        detail: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.detail = detail or reason
        self.status = status


class RefusedAddress(Exception):
    """A connection reached an address the session's filter refuses (not an OSError, so that
    urllib3 lets it through instead of retrying or wrapping it)."""


@dataclass(frozen=True)
class HttpAnswer:
    """What the endpoint answered: status, headers, the body (JSON when it is JSON), timing.

    `content` is the raw body as read (up to the bound), for a caller that parses it itself.
    """

    status: int
    headers: dict[str, str]
    body: Any
    excerpt: str
    truncated: bool
    duration_ms: int
    content: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class BearerAuth(requests.auth.AuthBase):
    """An explicit auth object, so that a ~/.netrc entry can never replace the token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def non_public_address(address: str, allowed: Collection[Any] = ()) -> str | None:
    """Why `address` is not public ("10.0.0.1 is a private address"); None when it is public or
    in one of the `allowed` networks (`ipaddress` objects)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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
    return f"{ip} is {kind} address"


def https_url_problem(url: str) -> str | None:
    """Why a URL cannot be called by an HTTPS-only session (None when it can)."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return f"only https:// endpoints are called, not “{parts.scheme or url}”"
    if not parts.hostname:
        return "the endpoint URL has no host"
    return None


# The filter of the call this context is making; guarded connections refuse without one.
_address_filter: contextvars.ContextVar[AddressFilter | None] = contextvars.ContextVar(
    "outbound_address_filter", default=None
)


def _checked(sock: socket.socket) -> socket.socket:
    check = _address_filter.get()
    problem = (
        check(str(sock.getpeername()[0])) if check else "no address filter is set for this call"
    )
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
    pool_classes: ClassVar[dict[str, type[HTTPConnectionPool]]] = {
        "http": _GuardedHTTPPool,
        "https": _GuardedHTTPSPool,
    }


class HardenedSession:
    """One kept-alive requests session with the rules above; threads of a process share it.

    It refuses cookies, so nothing on it changes after it is built (urllib3's pool is
    thread-safe). Options read at call time (`address_filter`, `ca_bundle`) may follow settings.
    """

    def __init__(
        self,
        *,
        max_response_bytes: int,
        oversize: Oversize = Oversize.CUT,
        https_only: bool = True,
        address_filter: AddressFilter | None = None,
        ca_bundle: Callable[[], str] | None = None,
        connect_timeout: float | None = None,
        trust_env: bool = False,
        user_agent: str | None = None,
        pool_size: int = 10,
    ) -> None:
        self.max_response_bytes = max_response_bytes
        self.oversize = oversize
        self.https_only = https_only
        self.address_filter = address_filter
        self.ca_bundle = ca_bundle
        self.connect_timeout = connect_timeout
        session = requests.Session()
        session.trust_env = trust_env  # False: no proxies or .netrc from the environment
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        if user_agent:
            session.headers["User-Agent"] = user_agent
        adapter_class = _GuardedAdapter if address_filter else DeadlineAdapter
        adapter = adapter_class(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._session = session

    def send(
        self,
        *,
        method: str,
        url: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        has_body: bool = False,
        data: Mapping[str, str] | None = None,
        auth: requests.auth.AuthBase | None = None,
        max_bytes: int | None = None,
    ) -> HttpAnswer:
        """Send one request (`body` as JSON when `has_body`, or the form `data`) within `timeout`
        seconds overall and read its answer up to `max_bytes` (the session's bound by default)."""
        refuse_inside_transaction(f"{method} {url}")
        problem = https_url_problem(url) if self.https_only else None
        if problem:
            raise OutboundError(problem, retryable=False)
        limit = self.max_response_bytes if max_bytes is None else max_bytes
        connect = timeout if self.connect_timeout is None else min(self.connect_timeout, timeout)
        kwargs: dict[str, Any] = {}
        if has_body:
            kwargs["json"] = body
        if data is not None:
            kwargs["data"] = dict(data)
        started = time.monotonic()
        token = _address_filter.set(self.address_filter)
        try:
            with call_deadline(timeout) as deadline:
                try:
                    response = self._session.request(
                        method,
                        url,
                        params=dict(params or {}) or None,
                        headers=dict(headers or {}),
                        auth=auth,
                        timeout=(connect, timeout),
                        allow_redirects=False,
                        stream=True,
                        verify=(self.ca_bundle() if self.ca_bundle else "") or True,
                        **kwargs,
                    )
                except RefusedAddress as exc:
                    raise OutboundError(str(exc), retryable=False) from None
                except requests.RequestException as exc:
                    raise self._unanswered(exc, deadline) from None
                try:
                    raw, truncated = self._read(response, deadline, limit)
                finally:
                    response.close()
        finally:
            _address_filter.reset(token)
        text = raw.decode(response.encoding or "utf-8", errors="replace")
        return HttpAnswer(
            status=response.status_code,
            headers=dict(response.headers.items()),
            body=_body(text, truncated),
            excerpt=text[:EXCERPT_CHARS],
            truncated=truncated,
            duration_ms=round((time.monotonic() - started) * 1000),
            content=raw,
        )

    def _read(
        self, response: requests.Response, deadline: CallDeadline, limit: int
    ) -> tuple[bytes, bool]:
        """The body up to `limit`, within the call's deadline (a trickle is cut like a silence)."""
        declared = response.headers.get("Content-Length", "")
        if self.oversize == Oversize.REFUSE and declared.isdigit() and int(declared) > limit:
            raise _too_large(response.status_code, limit)
        data = bytearray()
        try:
            for chunk in response.iter_content(16 * 1024):
                data += chunk
                if len(data) > limit:
                    if self.oversize == Oversize.REFUSE:
                        raise _too_large(response.status_code, limit)
                    return bytes(data[:limit]), True
        except requests.RequestException as exc:
            if deadline.expired:
                raise self._unanswered(exc, deadline) from None
            reason = f"the answer broke off: {network_reason(exc)}"
            raise OutboundError(reason, retryable=True) from None
        return bytes(data), False

    def _unanswered(self, exc: requests.RequestException, deadline: CallDeadline) -> OutboundError:
        """The failure to report: past the deadline it is the timeout, whatever broke on the way."""
        if deadline.expired or isinstance(exc, requests.exceptions.ReadTimeout):
            return OutboundError(f"no answer within {deadline.seconds:g} s", retryable=True)
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            seconds = self.connect_timeout or deadline.seconds
            verb = "connection" if self.connect_timeout else "answer"
            return OutboundError(f"no {verb} within {seconds:g} s", retryable=True)
        if isinstance(exc, requests.exceptions.Timeout):
            return OutboundError(f"no answer within {deadline.seconds:g} s", retryable=True)
        detail = network_reason(exc)
        if isinstance(exc, requests.exceptions.SSLError):
            return OutboundError(f"TLS failed: {detail}", retryable=False)
        if isinstance(exc, requests.exceptions.ConnectionError):
            return OutboundError(f"could not connect: {detail}", retryable=True, detail=detail)
        return OutboundError(f"the request could not be sent: {detail}", retryable=False)


def _too_large(status: int, limit: int) -> OutboundError:
    return OutboundError(
        f"answered {status} with more than {limit // 1024} KiB; not read",
        retryable=False,
        status=status,
    )


def network_reason(exc: BaseException) -> str:
    """A few words on why a call failed: the operating system's words when it gave some (in the
    chain of causes), else the innermost cause, without urllib3's object reprs."""
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
    if reason:
        return (reason[:1].lower() + reason[1:])[:REASON_CHARS]
    cause: BaseException = exc
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    return (str(cause) or type(cause).__name__)[:REASON_CHARS]


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
