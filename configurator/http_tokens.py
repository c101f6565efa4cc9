"""The one cache of OAuth2 client-credentials access tokens, for every outbound caller.

Integrations' `oauth` authentications and the Sinch client's access keys both get their tokens
here, through the session they send with (`configurator.http`). A token is kept per token URL,
client ID, scope and a hash of the secret (a rotated secret gets its own token; the secret itself
is never a key), until shortly before it expires: `RENEW_BEFORE` seconds, or a tenth of a shorter
lifetime, so that a token never expires between leaving the cache and reaching the endpoint. One
fetch runs at a time per key, so a burst of calls after expiry fetches one token, not one each.
`bearer_call` makes a call with a token and handles its refusal (401) the one way every caller
shares: the refused token leaves the cache, and a cached one is replaced once.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests.auth

from configurator import housekeeping
from configurator.http import HardenedSession, HttpAnswer, OutboundError

RENEW_BEFORE = 60.0
RENEW_FRACTION = 0.1

TokenKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class ClientCredentials:
    """What a client-credentials grant needs; the secret stays out of `repr`."""

    token_url: str
    client_id: str
    secret: str = field(repr=False)
    scope: str = ""

    @property
    def key(self) -> TokenKey:
        digest = hashlib.sha256(self.secret.encode()).hexdigest()
        return (self.token_url, self.client_id, self.scope, digest)


class TokenNotIssued(OutboundError):
    """The token endpoint answered, without an access token; `answer` says what it answered."""

    def __init__(self, answer: HttpAnswer) -> None:
        super().__init__(
            f"the OAuth token endpoint answered {answer.status} without an access token",
            retryable=answer.status == 429 or answer.status >= 500,
            status=answer.status,
        )
        self.answer = answer


@dataclass(frozen=True)
class AccessToken:
    """A usable token, and whether it was fetched for this call (rather than taken from cache)."""

    value: str = field(repr=False)
    fresh: bool


class OAuthTokens:
    """Per-process access tokens, reused until shortly before expiry."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tokens: dict[TokenKey, tuple[str, float]] = {}
        self._fetching: dict[TokenKey, threading.Lock] = {}
        self._lock = threading.Lock()

    def token(
        self,
        credentials: ClientCredentials,
        *,
        session: HardenedSession,
        timeout: float,
        default_lifetime: float = 0.0,
    ) -> AccessToken:
        """A valid token, fetched through `session` when none is cached (OutboundError when the
        endpoint cannot be reached, TokenNotIssued when it answers without one). A token whose
        answer gives no usable lifetime lives `default_lifetime` seconds (0: this call only)."""
        key = credentials.key
        cached = self._valid(key)
        if cached is not None:
            return AccessToken(cached, fresh=False)
        with self._lock:
            fetch_lock = self._fetching.setdefault(key, threading.Lock())
        with fetch_lock:
            cached = self._valid(key)
            if cached is not None:
                return AccessToken(cached, fresh=False)
            value, lifetime = _fetch(credentials, session, timeout, default_lifetime)
            renew_before = min(RENEW_BEFORE, lifetime * RENEW_FRACTION)
            with self._lock:
                self._tokens[key] = (value, self.clock() + lifetime - renew_before)
            return AccessToken(value, fresh=True)

    def cached(self, credentials: ClientCredentials) -> bool:
        """Whether a valid token of these credentials is cached now."""
        return self._valid(credentials.key) is not None

    def drop(self, credentials: ClientCredentials, value: str) -> None:
        """Forget a token the endpoint refused, unless another thread already replaced it."""
        key = credentials.key
        with self._lock:
            entry = self._tokens.get(key)
            if entry is not None and entry[0] == value:
                del self._tokens[key]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._fetching.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)

    def _valid(self, key: TokenKey) -> str | None:
        with self._lock:
            entry = self._tokens.get(key)
        if entry is not None and self.clock() < entry[1]:
            return entry[0]
        return None


def _fetch(
    credentials: ClientCredentials,
    session: HardenedSession,
    timeout: float,
    default_lifetime: float,
) -> tuple[str, float]:
    """The client-credentials grant: a token and its lifetime in seconds."""
    form = {"grant_type": "client_credentials"}
    if credentials.scope:
        form["scope"] = credentials.scope
    answer = session.send(
        method="POST",
        url=credentials.token_url,
        headers={"Accept": "application/json"},
        data=form,
        timeout=timeout,
        auth=requests.auth.HTTPBasicAuth(credentials.client_id, credentials.secret),
    )
    body = answer.body if isinstance(answer.body, dict) else {}
    value = body.get("access_token")
    if not answer.ok or not isinstance(value, str) or not value:
        raise TokenNotIssued(answer)
    return value, _lifetime(body.get("expires_in"), default_lifetime)


def _lifetime(expires_in: Any, default: float) -> float:
    """Seconds a token lives, as its answer says, or `default` when it says nothing usable."""
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        return default
    return seconds if math.isfinite(seconds) and seconds > 0 else default


# The one cache of the process.
oauth_tokens = OAuthTokens()


def bearer_call(
    credentials: ClientCredentials,
    token: Callable[[], AccessToken],
    call: Callable[[str], HttpAnswer],
    *,
    on_replaced: Callable[[], None] = lambda: None,
) -> HttpAnswer:
    """Make `call` with a bearer token from `token()`; a refused cached token is replaced once.

    A server that answers 401 to a token from the cache may have revoked it or ended its
    lifetime early: the token leaves the cache and the call is made again with a new one
    (`on_replaced` is told first, and the caller's claim on its work renewed, so that a lease
    still only has to outlast one call). A 401 to a token fetched for this very call stands, and
    that token leaves the cache too.
    """
    first = token()
    answer = call(first.value)
    if answer.status != 401:
        return answer
    oauth_tokens.drop(credentials, first.value)
    if first.fresh:
        return answer
    on_replaced()
    housekeeping.keep_claim()
    second = token()
    answer = call(second.value)
    if answer.status == 401:
        oauth_tokens.drop(credentials, second.value)
    return answer
