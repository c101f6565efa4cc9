"""Integrations' use of the hardened client (`configurator.http`): their session and tokens.

What is integration-specific lives here: HTTPS only; the address each connection reached must be
public unless `INTEGRATIONS_ALLOWED_NETWORKS` lists it; certificates verified against
`INTEGRATIONS_CA_BUNDLE` when set; environment proxies ignored; answers cut at 256 KiB; the
whole call within the integration's `timeout`. Sending returns an `HttpAnswer` whatever the
status; it raises `configurator.http.OutboundError` only when there is no answer.
OAuth tokens come from the process's one token cache (`configurator.http_tokens`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import urlsplit

import requests.auth
from django.conf import settings

from configurator.http import (
    EXCERPT_CHARS,
    HardenedSession,
    HttpAnswer,
    RefusedAddress,
    non_public_address,
)
from configurator.http_tokens import AccessToken, ClientCredentials
from configurator.http_tokens import oauth_tokens as shared_tokens
from configurator.networks import networks

__all__ = [
    "EXCERPT_CHARS",
    "MAX_RESPONSE_BYTES",
    "HttpAnswer",
    "RefusedAddress",
    "address_refusal",
    "endpoint_refusal",
    "integration_tokens",
    "send",
]

MAX_RESPONSE_BYTES = 256 * 1024
USER_AGENT = "Configurator-Integrations/1"
# Without `expires_in` in the answer, an integration's token is kept this long.
DEFAULT_TOKEN_LIFETIME = 300.0


def address_refusal(address: str) -> str | None:
    """Why integrations may not connect to `address` (None when they may)."""
    allowed = networks(tuple(settings.INTEGRATIONS_ALLOWED_NETWORKS))
    problem = non_public_address(address, allowed)
    if problem is None:
        return None
    return (
        f"{problem}; integrations only call public addresses "
        "(an operator can allow a network with INTEGRATIONS_ALLOWED_NETWORKS)"
    )


# How long a save waits for the endpoint's host to resolve before it says nothing of it: the
# warning is advice (calls are checked on every connection anyway), a save must not hang on DNS.
RESOLVE_SECONDS = 2.0
_resolver = ThreadPoolExecutor(max_workers=2, thread_name_prefix="endpoint-resolve")


def endpoint_refusal(url: str) -> str | None:
    """Why calls to `url` will be refused by the address filter, known before any call.

    The host's addresses (itself, when it is an address) are checked as each connection will
    be (`address_refusal`); a name that does not resolve within RESOLVE_SECONDS, or at all,
    says nothing: only a call can tell.
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or 443
    except ValueError:
        return None
    if not host:
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        literal = False
    else:
        literal = True
    if literal:
        addresses = [host]
    else:
        lookup = _resolver.submit(socket.getaddrinfo, host, port, proto=socket.IPPROTO_TCP)
        try:
            found = lookup.result(timeout=RESOLVE_SECONDS)
        except (OSError, UnicodeError, FutureTimeout):
            return None
        addresses = list(dict.fromkeys(str(entry[4][0]) for entry in found))
    for address in addresses:
        refusal = address_refusal(address)
        if refusal is not None:
            return refusal if literal else f"{host} resolves to {address}: {refusal}"
    return None


def _ca_bundle() -> str:
    return str(settings.INTEGRATIONS_CA_BUNDLE or "")


session = HardenedSession(
    max_response_bytes=MAX_RESPONSE_BYTES,
    address_filter=address_refusal,
    ca_bundle=_ca_bundle,
    user_agent=USER_AGENT,
    pool_size=32,
)


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
    return session.send(
        method=method,
        url=url,
        headers=headers,
        params=params,
        body=body,
        has_body=has_body,
        timeout=timeout,
        auth=auth,
        data=data,
    )


class IntegrationTokens:
    """Integrations' view of the shared token cache: tokens fetched through their session."""

    def bearer(self, credentials: ClientCredentials, *, timeout: float) -> AccessToken:
        """The token for `credentials`, and whether it was fetched for this call."""
        return shared_tokens.token(
            credentials, session=session, timeout=timeout, default_lifetime=DEFAULT_TOKEN_LIFETIME
        )

    def clear(self) -> None:
        """Forget every cached token (the shared cache: Sinch's tokens too)."""
        shared_tokens.clear()


integration_tokens = IntegrationTokens()
