"""One deadline for a whole outbound HTTP call: connect, TLS handshake, request, headers, body.

requests' `timeout` bounds each socket operation, not the call: a peer that sends a header line
or a body byte just inside it can hold a call for ever, and a worker's lease on its work must
outlast every call it makes. Inside `call_deadline(seconds)`, the connection classes below give
every blocking socket operation only the time left until the deadline (connect, the handshake,
each send, each receive), so the call ends within `seconds` plus a scheduling margin whatever
the peer does; past the deadline the operation raises `TimeoutError`, which urllib3 reports as
its own timeout and after which it closes the connection instead of pooling it. No thread, no
timer: kept-alive connections serve the next call as before. DNS resolution is the one step the
system resolver bounds (its own timeout), not this module.

The hardened client (`configurator.http`) mounts these classes (or its address-checking
subclasses of them) on every session it builds: integrations' and the Sinch client's.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import ProxyManager


class CallDeadline:
    """The moment a call must have ended, and what each socket operation may still wait."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def socket_timeout(self, limit: float | None = None) -> float:
        """Seconds the next socket operation may block (at most `limit`); TimeoutError if none."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no answer within {self.seconds:g} s")
        return left if limit is None else min(limit, left)


_local = threading.local()


def current_deadline() -> CallDeadline | None:
    """The deadline of the call this thread is making, if any."""
    deadline: CallDeadline | None = getattr(_local, "deadline", None)
    return deadline


@contextmanager
def call_deadline(seconds: float) -> Iterator[CallDeadline]:
    """Bound every call made in the block by one deadline `seconds` from now (nested: earliest)."""
    outer = current_deadline()
    deadline = CallDeadline(seconds)
    if outer is not None and outer.at < deadline.at:
        deadline.at = outer.at
    _local.deadline = deadline
    try:
        yield deadline
    finally:
        _local.deadline = outer


class _DeadlineReader(io.RawIOBase):
    """The socket's own file object, each receive given only the time left.

    Wrapping the file object (not the bare socket) keeps its reference on the socket: http.client
    closes the connection as soon as an answer says `Connection: close`, and the socket must stay
    open until that answer's body has been read.
    """

    def __init__(self, stream: Any, sock: Any, deadline: CallDeadline, limit: float | None) -> None:
        super().__init__()
        self._stream = stream
        self._sock = sock
        self._deadline = deadline
        self._limit = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(self._deadline.socket_timeout(self._limit))
        received: int | None = self._stream.readinto(buffer)
        return received

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """An http.client response that reads the status, headers and body within the deadline."""

    def __init__(
        self, sock: Any, debuglevel: int = 0, method: str | None = None, url: str | None = None
    ) -> None:
        super().__init__(sock, debuglevel, method, url)
        deadline = current_deadline()
        if deadline is not None:
            # urllib3 has just set the socket's timeout to the read timeout: keep it as a limit.
            stream = self.fp.detach()  # nothing has been read yet, so nothing is buffered
            self.fp = io.BufferedReader(_DeadlineReader(stream, sock, deadline, sock.gettimeout()))


def _limit(timeout: Any) -> float | None:
    return float(timeout) if isinstance(timeout, int | float) else None


class DeadlineHTTPConnection(HTTPConnection):
    """A connection whose connect, sends and reads end by the current call's deadline."""

    response_class = _DeadlineResponse

    def _new_conn(self) -> socket.socket:
        deadline = current_deadline()
        if deadline is None:
            return super()._new_conn()
        self.timeout = deadline.socket_timeout(_limit(self.timeout))
        sock = super()._new_conn()
        # An HTTPS connection's handshake runs on this socket next, within what is left.
        sock.settimeout(deadline.socket_timeout(_limit(self.timeout)))
        return sock

    def send(self, data: Any) -> None:
        deadline = current_deadline()
        if deadline is not None:
            if self.sock is None and self.auto_open:
                self.connect()
            if self.sock is not None:
                self.sock.settimeout(deadline.socket_timeout())
        super().send(data)


class DeadlineHTTPSConnection(DeadlineHTTPConnection, HTTPSConnection):
    """The HTTPS flavour (verification and the rest as urllib3 does it)."""


class DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = DeadlineHTTPConnection


class DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = DeadlineHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """A requests adapter whose pools (direct or through a proxy) use the classes above.

    `pool_classes` names the pool per scheme; a subclass can give its own connection checks.
    """

    pool_classes: ClassVar[dict[str, type[HTTPConnectionPool]]] = {
        "http": DeadlineHTTPPool,
        "https": DeadlineHTTPSPool,
    }

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self.pool_classes)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):  # not SOCKS, which has pool classes of its own
            manager.pool_classes_by_scheme = dict(self.pool_classes)
        return manager
