"""Running one integration for one conversation event: condition, request, answer, `set`/`save`.

Nothing here writes the project's rows (the one write on the way, renewing the caller's claim
before a token is replaced, is `configurator.http_tokens.bearer_call`'s): `execute` returns an
`Execution` saying what was sent, what came back and what the answer would change. The runtime
applies it and records it; the test run shows it and applies nothing. What the answer would
change is checked against the database through `Targets`, so a value that does not fit changes
nothing and is reported.
"""

from __future__ import annotations

import base64
import email.utils
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import requests.auth

from configurator.http import OutboundError
from configurator.http_tokens import ClientCredentials, bearer_call
from configurator.logcontext import log_context
from configurator.secrets import mask_secrets
from conversations.models import ContactEvent
from conversations.snapshot import iso
from integrations.choices import (
    ECHO_ENDPOINT,
    AuthenticationType,
    DeliveryStatus,
    authentication_type,
)
from integrations.conditions import ConditionError, condition_compile, condition_evaluate
from integrations.rendering import (
    RenderContext,
    RenderedRequest,
    render_request,
    render_value,
)
from integrations.set_keys import Targets, set_resolve
from integrations.transport import EXCERPT_CHARS, HttpAnswer, integration_tokens, send

MAX_CAD_BYTES = 64 * 1024
MAX_RETRY_AFTER_SECONDS = 3600.0
DIGEST_RESPONSE_RE = re.compile(r'response="([^"]+)"')


@dataclass
class Execution:
    """What happened when one integration ran (or was tried) for one contact and event."""

    status: str = DeliveryStatus.SUCCEEDED  # or FAILED, SKIPPED
    request: dict[str, Any] | None = None
    status_code: int | None = None
    duration_ms: int | None = None
    response_excerpt: str = ""
    response: dict[str, Any] | None = None
    error: str = ""
    retryable: bool = False
    retry_after: float | None = None
    # What the answer changes: `set` as resolved targets, `save` as the attached data to merge.
    set_values: dict[str, Any] = field(default_factory=dict)
    save_values: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == DeliveryStatus.SUCCEEDED

    def fail(self, message: str, *, retryable: bool = False) -> Execution:
        self.status = DeliveryStatus.FAILED
        self.error = message
        self.retryable = retryable
        return self


@dataclass(frozen=True)
class Secrets:
    """The integration's authentication entries, decrypted, by authentication ID."""

    by_id: Mapping[str, str]

    def of_type(self, kind: str) -> list[tuple[str, str]]:
        return [(i, s) for i, s in self.by_id.items() if authentication_type(i) == kind]


@lru_cache(maxsize=256)
def _program(expression: str) -> Any:
    return condition_compile(expression)


def is_blocking(configuration: Mapping[str, Any]) -> bool:
    """Runs inline when its answer steers the conversation (`set`) or it asks to (`block`)."""
    return bool((configuration.get("response") or {}).get("set")) or bool(
        (configuration.get("request") or {}).get("block")
    )


def event_context(entry: ContactEvent, contact: Mapping[str, Any]) -> RenderContext:
    """What placeholders read for this event: `{event.*}` and `{contact.*}`."""
    return RenderContext(
        event={"name": entry.event, "datetime": iso(entry.occurred_at), "id": str(entry.pk)},
        contact=contact,
    )


def execute(
    *,
    configuration: Mapping[str, Any],
    endpoint_url: str,
    context: RenderContext,
    secrets: Secrets,
    targets: Targets,
    channel_type: str,
    echo_data: Mapping[str, Any] | None = None,
    live: bool = True,
    integration_id: int,
) -> Execution:
    """Run the integration once; `live=False` renders and checks but sends nothing.

    What came back (excerpt, answer, error, attached data to save) has every secret the request
    carried masked before anyone records or shows it: the authentication secrets, and the
    credentials made from them (Basic's base64, the OAuth access token, the Digest header).
    Every line logged meanwhile (urllib3's included) carries the integration's id and the id of
    the contact the call is about (a background delivery runs outside the contact's lifecycle).
    """
    carried: list[str] = []
    with log_context(integration_id=integration_id, contact_id=context.contact.get("id")):
        result = _execute(
            configuration=configuration,
            endpoint_url=endpoint_url,
            context=context,
            secrets=secrets,
            targets=targets,
            channel_type=channel_type,
            echo_data=echo_data,
            live=live,
            carried=carried,
        )
    hidden = [*secrets.by_id.values(), *carried]
    result.response_excerpt = mask_secrets(
        result.response_excerpt, hidden, cut_off=len(result.response_excerpt) >= EXCERPT_CHARS
    )
    result.error = mask_secrets(result.error, hidden)
    result.response = mask_secrets(result.response, hidden)
    result.save_values = mask_secrets(result.save_values, hidden)
    return result


def _execute(
    *,
    configuration: Mapping[str, Any],
    endpoint_url: str,
    context: RenderContext,
    secrets: Secrets,
    targets: Targets,
    channel_type: str,
    echo_data: Mapping[str, Any] | None,
    live: bool,
    carried: list[str],
) -> Execution:
    result = Execution()
    request = configuration.get("request") or {}
    condition = request.get("condition")
    if condition:
        try:
            holds = condition_evaluate(
                _program(condition), contact=context.contact, event=context.event
            )
        except ConditionError as exc:
            return result.fail(f"condition: {exc}")
        if not holds:
            result.status = DeliveryStatus.SKIPPED
            result.error = f"the condition is false: {condition}"
            return result
    context = replace(context, authentications=secrets.by_id)
    rendered = render_request(configuration, endpoint_url, context)
    result.request = render_request(configuration, endpoint_url, context.masked()).as_record()
    if not live:
        return result
    if endpoint_url.strip() == ECHO_ENDPOINT:
        answer = HttpAnswer(
            status=200,
            headers={},
            body=dict(echo_data or context.contact),
            excerpt="",
            truncated=False,
            duration_ms=0,
        )
    else:
        try:
            answer = _authenticated_send(rendered, request, secrets, carried)
        except OutboundError as exc:
            return result.fail(str(exc), retryable=exc.retryable)
    result.status_code = answer.status
    result.duration_ms = answer.duration_ms
    result.response_excerpt = answer.excerpt
    result.response = {"status": answer.status, "headers": answer.headers, "body": answer.body}
    if 300 <= answer.status < 400:
        location = answer.headers.get("Location", "")
        return result.fail(f"answered {answer.status}: redirects are not followed ({location})")
    if answer.status == 429 or answer.status >= 500:
        result.retry_after = retry_after_seconds(answer.headers.get("Retry-After"))
        return result.fail(f"answered {answer.status}", retryable=True)
    if not answer.ok:
        return result.fail(f"answered {answer.status}")
    _interpret(configuration, context, result, targets, channel_type)
    return result


def _send(
    rendered: RenderedRequest, auth: requests.auth.AuthBase | None, extra: Mapping[str, str]
) -> HttpAnswer:
    return send(
        method=rendered.method,
        url=rendered.url,
        headers={**rendered.headers, **extra},
        params=rendered.params,
        body=rendered.body,
        has_body=rendered.has_body,
        timeout=rendered.timeout,
        auth=auth,
    )


def _authenticated_send(
    rendered: RenderedRequest, request: Mapping[str, Any], secrets: Secrets, carried: list[str]
) -> HttpAnswer:
    """Send with the request's authentication: basic, digest, or an OAuth bearer token.

    A bearer token goes through `configurator.http_tokens.bearer_call`, as the Sinch client's
    do: a cached token the endpoint refuses (401) is replaced once. `carried` receives the
    credentials built from the secrets (Basic's base64, the token), which the answer must not
    echo.
    """
    kind, name, secret = _authentication_entry(request, secrets)
    if kind == AuthenticationType.BASIC:
        carried.append(_basic_credentials(name, secret))
        return _send(rendered, requests.auth.HTTPBasicAuth(name, secret), {})
    if kind == AuthenticationType.DIGEST:
        return _send(rendered, _RecordingDigestAuth(name, secret, carried), {})
    if kind != AuthenticationType.OAUTH:
        return _send(rendered, None, {})
    config = request.get("authentication") or {}
    scope = config.get("scope") or ""
    credentials = ClientCredentials(
        token_url=str(config.get("access_token_url") or ""),
        client_id=name,
        secret=secret,
        scope=" ".join(scope) if isinstance(scope, list) else str(scope),
    )

    def call(token: str) -> HttpAnswer:
        carried.append(token)
        return _send(rendered, None, {"Authorization": f"Bearer {token}"})

    return bearer_call(
        credentials,
        lambda: integration_tokens.bearer(credentials, timeout=rendered.timeout),
        call,
    )


def _authentication_entry(request: Mapping[str, Any], secrets: Secrets) -> tuple[str, str, str]:
    """The authentication the request names: (type, name, secret); ("", "", "") for none."""
    config = request.get("authentication") or {}
    kind = config.get("type")
    if not kind:
        return "", "", ""
    entries = secrets.of_type(kind)
    if kind == AuthenticationType.OAUTH and config.get("client_id"):
        wanted = f"oauth:{config['client_id']}"
        entries = [(i, s) for i, s in entries if i == wanted]
    if len(entries) != 1:
        raise OutboundError(
            f"the {kind} authentication entry is missing (add it on the integration)",
            retryable=False,
        )
    entry_id, secret = entries[0]
    return str(kind), entry_id.split(":", 1)[1], secret


def _basic_credentials(name: str, secret: str) -> str:
    """The base64 part of the Basic header requests builds (latin-1, as requests encodes)."""
    try:
        raw = f"{name}:{secret}".encode("latin-1")
    except UnicodeEncodeError:
        raw = f"{name}:{secret}".encode()
    return base64.b64encode(raw).decode("ascii")


class _RecordingDigestAuth(requests.auth.HTTPDigestAuth):
    """Digest auth that notes the header it answers the challenge with (its `response` is a
    hash of the password, open to guessing offline), so that an echo of it is masked."""

    def __init__(self, username: str, password: str, carried: list[str]) -> None:
        super().__init__(username, password)
        self._carried = carried

    def build_digest_header(self, method: str, url: str) -> str | None:
        header: str | None = super().build_digest_header(method, url)  # type: ignore[no-untyped-call]
        if header:
            self._carried.append(header.removeprefix("Digest "))
            self._carried.extend(DIGEST_RESPONSE_RE.findall(header))
        return header


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds (delta or HTTP date), bounded; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _interpret(
    configuration: Mapping[str, Any],
    context: RenderContext,
    result: Execution,
    targets: Targets,
    channel_type: str,
) -> None:
    """Turn the answer into the `set`/`save` it asks for; any value that does not fit voids both."""
    response_config = configuration.get("response") or {}
    if not response_config:
        return
    answered = RenderContext(
        event=context.event,
        contact=context.contact,
        authentications={},
        response=result.response,
    )
    problems: list[str] = []
    set_values: dict[str, Any] = {}
    for key, template in (response_config.get("set") or {}).items():
        value = render_value(template, answered)
        try:
            resolved = set_resolve(key, value, targets, channel_type)
        except ValueError as exc:
            problems.append(f"set.{key}: {exc}")
            continue
        if resolved is not None:
            set_values[key] = resolved
    save_values: dict[str, Any] = {}
    if response_config.get("save"):
        save_values = render_value(response_config["save"], answered)
        size = len(json.dumps(save_values, ensure_ascii=False, default=str).encode())
        if size > MAX_CAD_BYTES:
            problems.append(f"save: {size} bytes of attached data, more than {MAX_CAD_BYTES}")
    if problems:
        result.fail("the answer does not fit, nothing was applied: " + "; ".join(problems))
        return
    result.set_values = set_values
    result.save_values = save_values


def backoff_seconds(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Exponential backoff, base·2^(attempt−1) capped, with "equal jitter": half fixed, half random.

    `jitter` is a random number in [0, 1) from the caller (tests fix it). The random half keeps
    many deliveries that failed together from all coming back at the same moment.
    """
    delay = min(cap, base * math.pow(2, max(attempt - 1, 0)))
    return delay / 2 + delay / 2 * jitter
