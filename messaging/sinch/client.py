"""Calls the Sinch Conversation API with an app's outbound key: replies (`messages:send`), and the
setup doctor's reads and writes of apps and webhooks (`messaging.sinch.management`, through
`api_request`).

Sinch answers failures with its own sentence (`{"error": {"message": ...}}`); `SinchError` carries
that sentence so an operator can act on it, and never the key secret or an access token. Calls
go through the project's hardened client (`configurator.http`): each (a send, a token fetch) ends
within READ_TIMEOUT overall, connect included, so a worker is never held longer by a slow or
trickling peer; access tokens live in its one token cache (`configurator.http_tokens`), kept
about an hour each (Sinch asks clients to reuse them; one per send would double the calls).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests.auth
from django.conf import settings

from configurator.http import BearerAuth, HardenedSession, HttpAnswer, OutboundError, Oversize
from configurator.http_tokens import (
    AccessToken,
    ClientCredentials,
    TokenNotIssued,
    bearer_call,
    oauth_tokens,
)
from configurator.limits import SINCH_MESSAGE_ID_MAX_CHARS
from configurator.secrets import mask_secrets
from messaging import selectors
from messaging.choices import ApiAuthMethod

logger = logging.getLogger(__name__)

# Connecting may take CONNECT_TIMEOUT; the whole call (connect, TLS, request, answer) READ_TIMEOUT.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
MAX_RESPONSE_BYTES = 1024 * 1024
ERROR_TEXT_LIMIT = 200
ERROR_MESSAGE_LIMIT = 500

# One session keeps connections to Sinch open between sends. No address filter, and environment
# proxies are honoured: an operator's proxy or SINCH_API_ORIGIN may stand in front of Sinch.
session = HardenedSession(
    max_response_bytes=MAX_RESPONSE_BYTES,
    oversize=Oversize.REFUSE,
    https_only=False,
    connect_timeout=CONNECT_TIMEOUT,
    trust_env=True,
)


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


@dataclass(frozen=True)
class AccessKey:
    """An outbound entry's access key (Key ID and secret); the secret stays out of `repr`."""

    key_id: str
    secret: str = field(repr=False)


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
    if not service.enabled:
        raise SinchNotConfigured(
            f"Messaging service “{service.name}” of app {app_id} is disabled: enter its secrets "
            "and enable it."
        )
    key = AccessKey(key_id=entry.key_id, secret=entry.secret.reveal())
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
    # The access tokens this send used: masked like the secret should an answer echo them.
    tokens: list[str] = []
    try:
        answer = _authorized(service.auth_method, key, tokens, "POST", url, body)
        sent = _sent_message(answer)
    except SinchError as exc:
        error = _scrubbed(exc, key, tokens)
        logger.warning("Send for app %s failed: %s", app_id, error)
        raise error from None
    logger.info("Sinch accepted message %s for app %s", sent.message_id, app_id)
    return sent


def api_request(
    *,
    service_connection: str,
    auth_method: str,
    key: AccessKey,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    hidden: Collection[str] = (),
) -> HttpAnswer:
    """Call the Conversation API of a service's region (`path` from `/v1/projects/…`) with a key.

    Authenticates as replies do (the service's `auth_method`: a cached OAuth2 token, replaced
    once when refused, or Basic). Returns a 2xx answer; anything else is a SinchError in Sinch's
    words, with the key secret, the tokens sent and the `hidden` values (a webhook secret sent
    in the body) masked, should Sinch or a proxy ever echo them.
    """
    url = _api_origin(service_connection) + path
    tokens: list[str] = []
    try:
        answer = _authorized(auth_method, key, tokens, method, url, body)
        if not answer.ok:
            raise SinchError(f"Sinch answered {_error_detail(answer)}", status=answer.status)
    except SinchError as exc:
        raise _scrubbed(exc, key, tokens, hidden) from None
    return answer


def access_token_check(key: AccessKey) -> bool:
    """Get an access token for the key: True when fetched now, False when a valid one was cached
    (issued within its lifetime; a call it fails on replaces it). SinchError when none is issued.
    """
    try:
        return _token(_credentials(key)).fresh
    except SinchError as exc:
        raise _scrubbed(exc, key, []) from None


def _authorized(
    auth_method: str,
    key: AccessKey,
    tokens: list[str],
    method: str,
    url: str,
    body: dict[str, Any] | None,
) -> HttpAnswer:
    """One call with the key: Basic, or a bearer token (each token sent goes to `tokens`)."""
    if auth_method == ApiAuthMethod.BASIC:
        return _request(method, url, body, requests.auth.HTTPBasicAuth(key.key_id, key.secret))
    return _with_token(method, url, body, key, tokens)


def _credentials(key: AccessKey) -> ClientCredentials:
    return ClientCredentials(
        token_url=str(settings.SINCH_OAUTH_TOKEN_URL), client_id=key.key_id, secret=key.secret
    )


def _with_token(
    method: str, url: str, body: dict[str, Any] | None, key: AccessKey, tokens: list[str]
) -> HttpAnswer:
    """Call with a cached token; a token Sinch no longer accepts is replaced once.

    `tokens` receives each token sent, for the caller to mask in what it reports.
    """
    credentials = _credentials(key)

    def send(token: str) -> HttpAnswer:
        tokens.append(token)
        return _request(method, url, body, BearerAuth(token))

    return bearer_call(
        credentials,
        lambda: _token(credentials),
        send,
        on_replaced=lambda: logger.info(
            "Sinch refused a cached access token of key %s; fetching a new one", key.key_id
        ),
    )


def _token(credentials: ClientCredentials) -> AccessToken:
    """A cached access token of the key, or one fetched now (client credentials grant)."""
    if not oauth_tokens.cached(credentials):
        logger.info("Fetching a Sinch access token for key %s", credentials.client_id)
    try:
        return oauth_tokens.token(credentials, session=session, timeout=READ_TIMEOUT)
    except TokenNotIssued as exc:
        raise _token_refusal(exc.answer, credentials.client_id) from None
    except OutboundError as exc:
        raise _unreachable(exc, credentials.token_url, "Sinch's token endpoint") from None


def _token_refusal(answer: HttpAnswer, key_id: str) -> SinchError:
    """Why Sinch issued no token, in Sinch's own words."""
    if answer.status in (400, 401, 403):
        return SinchError(
            f"Sinch refused the access key {key_id}: {_error_detail(answer)}",
            status=answer.status,
        )
    if not answer.ok:
        return SinchError(
            f"Sinch could not issue an access token for the key {key_id}: {_error_detail(answer)}",
            status=answer.status,
        )
    return SinchError(
        f"Sinch's token endpoint answered {answer.status} without an access token.",
        status=answer.status,
    )


def _request(
    method: str, url: str, body: dict[str, Any] | None, auth: requests.auth.AuthBase
) -> HttpAnswer:
    """Call within READ_TIMEOUT overall, no redirects, a bounded answer; failures are SinchError.

    A JSON body is sent when `body` is given (a GET has none)."""
    try:
        return session.send(
            method=method,
            url=url,
            body=body,
            has_body=body is not None,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=READ_TIMEOUT,
        )
    except OutboundError as exc:
        raise _unreachable(exc, url, "Sinch") from None


def _unreachable(exc: OutboundError, url: str, what: str) -> SinchError:
    """The shared client's failure in Sinch's words (an oversized answer names its status)."""
    if exc.status is not None:
        return SinchError(f"{what} {exc.reason}.", status=exc.status)
    return SinchError(f"{what} could not be reached at {urlsplit(url).netloc}: {exc.detail}.")


def _sent_message(answer: HttpAnswer) -> SentMessage:
    if not 200 <= answer.status < 300:
        raise SinchError(f"Sinch answered {_error_detail(answer)}", status=answer.status)
    payload = _json_object(answer.content)
    message_id = payload.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise SinchError(
            f"Sinch answered {answer.status} without a message ID.", status=answer.status
        )
    if len(message_id) > SINCH_MESSAGE_ID_MAX_CHARS or not message_id.isprintable():
        # Unusable to match its delivery reports, and too long to store: Sinch's fault.
        raise SinchError(
            f"Sinch answered {answer.status} with a message ID that is not one (over "
            f"{SINCH_MESSAGE_ID_MAX_CHARS} characters, or unprintable).",
            status=answer.status,
        )
    accepted_time = payload.get("accepted_time")
    return SentMessage(
        message_id=message_id, accepted_time=accepted_time if isinstance(accepted_time, str) else ""
    )


def _error_detail(answer: HttpAnswer) -> str:
    """`400 INVALID_ARGUMENT: Sinch's sentence` from its error body, or the start of the text."""
    payload = _json_object(answer.content)
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
    text = answer.content.decode("utf-8", "replace").strip()
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


def _api_origin(service_connection: str) -> str:
    """`https://{region}.conversation.api.sinch.com` of the service, or SINCH_API_ORIGIN."""
    origin = str(settings.SINCH_API_ORIGIN or "").rstrip("/")
    if origin:
        return origin
    parts = urlsplit(service_connection)
    return f"{parts.scheme}://{parts.netloc}"


def _scrubbed(
    exc: SinchError, key: AccessKey, tokens: list[str], hidden: Collection[str] = ()
) -> SinchError:
    """The same error, with the key secret, the access tokens sent and the `hidden` values masked
    should Sinch (or a proxy) ever echo them back: in every form an answer may carry them
    (JSON-escaped, encoded), and where Sinch's words were cut at their end, a tail that begins one.
    """
    text = str(exc)
    values = [*tokens, *hidden]
    if key.secret:
        values += [key.secret, base64.b64encode(f"{key.key_id}:{key.secret}".encode()).decode()]
    masked: str = mask_secrets(text, values, cut_off=True)
    return exc if masked == text else SinchError(masked, status=exc.status)
