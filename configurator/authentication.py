"""API authentication: hashed tokens (django-rest-knox) with a limit on failures per client IP.

Brute force against tokens is answered the way django-axes answers it for the admin's login:
failures are counted per client IP, each one is logged (with the IP, never the token), and past
`API_AUTH_FAILURE_RATE` every token request from that IP answers 429 until the window has passed,
so a guess that happens to be right is not told apart from a wrong one while it lasts.
"""

from __future__ import annotations

import logging
import string
from hmac import compare_digest
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger("configurator.security")

# Keys are hex (knox's, and DRF's before them); anything else cannot be a key.
KEY_CHARACTERS = frozenset(string.hexdigits)
MAX_KEY_LENGTH = 200


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the TRUSTED_PROXY_COUNT-th X-Forwarded-For entry
    from the right when that many proxies in front of the server append to it.

    The left part of X-Forwarded-For is whatever the client sent, so only the entries the
    trusted proxies appended are believed; a header with fewer entries than proxies did not come
    through all of them, so none of it is, and the connection's address counts. (A client that
    reaches the server without the proxies can still write the whole header: with
    TRUSTED_PROXY_COUNT set, the server must be reachable through the proxies only.)
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies: int = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]


class AuthFailureThrottle(SimpleRateThrottle):
    """Failed token authentications per client IP, in a sliding window kept in the cache.

    The cache is per process unless CACHES names a shared one, so with N web processes a client
    gets at most N times the rate.
    """

    scope = "api_auth_failures"
    cache = cache

    def get_rate(self) -> str | None:
        # Read at each request (not at import as DRF does) so that settings can change in tests.
        rate: str = settings.API_AUTH_FAILURE_RATE
        return rate

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}

    def blocked_for(self, request: HttpRequest) -> float | None:
        """Seconds until this client may try a token again; None when it may now."""
        self._load(request)
        if self.num_requests is None or len(self.history) < self.num_requests:
            return None
        return self.wait()

    def record_failure(self, request: HttpRequest) -> int:
        """Count one failure; the number of failures in the window."""
        self._load(request)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)
        return len(self.history)

    def _load(self, request: HttpRequest) -> None:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        history = self.cache.get(self.key, []) if self.duration else []
        self.history = [when for when in history if when > self.now - (self.duration or 0)]


class TokenAuthentication(KnoxTokenAuthentication):  # type: ignore[misc]  # knox: no types
    """`Authorization: Token <key>` against hashed keys; failures counted, logged and limited."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.authenticate_header(request).lower().encode():
            return None  # not a token request: another authentication (the session) may apply
        throttle = AuthFailureThrottle()
        wait = throttle.blocked_for(request)
        if wait is not None:
            logger.warning(
                "API token refused without checking: too many failed authentications from %s",
                client_ip(request),
            )
            raise exceptions.Throttled(
                wait=wait,
                detail=str(
                    _("Too many failed authentications from this address; try again later.")
                ),
            )
        try:
            if len(header) == 2 and not _plausible_key(header[1]):
                raise exceptions.AuthenticationFailed(_("Invalid token."))
            found: tuple[Any, Any] | None = super().authenticate(request)
            return found
        except exceptions.AuthenticationFailed as exc:
            count = throttle.record_failure(request)
            logger.warning(
                "API token authentication failed from %s (%s; %d in the current window)",
                client_ip(request),
                exc.detail,
                count,
            )
            raise

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        """The token's user, in one query (knox's own also reads all the user's tokens)."""
        key = token.decode("ascii")
        digest = hash_token(key)
        candidates = get_token_model().objects.filter(token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH])
        for candidate in candidates.select_related("user"):
            if not compare_digest(digest, candidate.digest):
                continue
            if candidate.expiry is not None and candidate.expiry < timezone.now():
                candidate.delete()
                raise exceptions.AuthenticationFailed(_("Token expired."))
            return self.validate_user(candidate)  # type: ignore[no-any-return]
        raise exceptions.AuthenticationFailed(_("Invalid token."))


def _plausible_key(key: bytes) -> bool:
    """Whether `key` could be a key at all (knox would fail on non-UTF-8 bytes with a 500)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return False
    try:
        text = key.decode("ascii")
    except UnicodeDecodeError:
        return False
    return all(character in KEY_CHARACTERS for character in text)


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """How the OpenAPI schema describes the token header (drf-spectacular finds it by class)."""

    target_class = "configurator.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix="Token",  # noqa: S106 - the header's word, not a secret
        )
