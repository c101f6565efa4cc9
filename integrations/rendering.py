"""Building an integration's request (and reading its answer) from placeholders: pure functions.

Same inputs, same request: the runtime, the test run and the delivery record all call these.
A string that is exactly one placeholder becomes the typed value; inside text a placeholder is
its text (objects as JSON, nothing for a missing value). URL values are percent-encoded, header
values lose CR/LF. Secrets come in `RenderContext.authentications`; rendering the same request
with `masked()` gives the copy that may be stored, and `configurator.secrets.mask_secrets` is
the same rule for what came back (an endpoint that echoes its request would otherwise hand the
secrets to the record).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from configurator.secrets import MASK
from integrations.choices import METHODS_WITH_BODY
from integrations.placeholders import PLACEHOLDER_RE
from integrations.schema import DEFAULT_TIMEOUT_SECONDS


@dataclass(frozen=True)
class RenderContext:
    """What placeholders read: the event, the contact, secrets, and (in `response`) the answer."""

    event: Mapping[str, Any]
    contact: Mapping[str, Any]
    authentications: Mapping[str, str] = field(default_factory=dict)
    response: Mapping[str, Any] | None = None

    def masked(self) -> RenderContext:
        """The same data with every secret replaced by a mask, for what is recorded."""
        return replace(self, authentications={key: MASK for key in self.authentications})


@dataclass(frozen=True)
class RenderedRequest:
    """What is sent: method, URL (without the query), headers, query parameters, JSON body."""

    method: str
    url: str
    headers: dict[str, str]
    params: dict[str, str]
    body: Any
    has_body: bool
    timeout: float

    def as_record(self) -> dict[str, Any]:
        """JSON-ready form for a delivery record."""
        record: dict[str, Any] = {
            "method": self.method,
            "url": self.url,
            "headers": self.headers,
            "params": self.params,
        }
        if self.has_body:
            record["body"] = self.body
        return record


def lookup(name: str, context: RenderContext) -> Any:
    """The value of one placeholder name (`contact.queue.id`); None when it has none."""
    parts = name.split(".")
    root, rest = parts[0], parts[1:]
    if root == "event":
        return context.event.get("name") if not rest else _walk(context.event, rest)
    if root == "contact":
        return _walk(context.contact, rest)
    if root == "authentications":
        return context.authentications.get(".".join(rest))
    if root == "response" and context.response is not None:
        if rest[:1] == ["headers"] and len(rest) > 1:
            wanted = ".".join(rest[1:]).lower()
            headers = context.response.get("headers") or {}
            return next((v for k, v in headers.items() if k.lower() == wanted), None)
        return _walk(context.response, rest)
    return None


def _walk(value: Any, path: list[str]) -> Any:
    for part in path:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def as_text(value: Any) -> str:
    """A value inside text: strings as they are, nothing for null, JSON for the rest."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_text(template: str, context: RenderContext, *, encode: bool = False) -> str:
    """Interpolate placeholders into text; `encode` percent-encodes each value (URLs)."""

    def substitute(match: Any) -> str:
        if match.group(1) is None:
            return str(match.group(0))[0]  # `{{` → `{`, `}}` → `}`
        text = as_text(lookup(match.group(1), context))
        return quote(text, safe="") if encode else text

    return PLACEHOLDER_RE.sub(substitute, template)


def render_value(value: Any, context: RenderContext) -> Any:
    """Render a JSON value: one-placeholder strings become typed values, the rest is text."""
    if isinstance(value, str):
        match = PLACEHOLDER_RE.fullmatch(value)
        if match and match.group(1) is not None:
            return lookup(match.group(1), context)
        return render_text(value, context)
    if isinstance(value, Mapping):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    return value


def header_value(value: str) -> str:
    """A header value cannot carry a line break (header injection)."""
    return value.replace("\r", " ").replace("\n", " ").strip()


def render_request(
    configuration: Mapping[str, Any], endpoint_url: str, context: RenderContext
) -> RenderedRequest:
    """The request an integration sends for this event and contact."""
    request = configuration.get("request") or {}
    method = str(request.get("method") or "GET")
    headers = {
        str(name): header_value(render_text(str(value), context))
        for name, value in (request.get("headers") or {}).items()
    }
    params = {
        str(name): as_text(render_value(value, context))
        if isinstance(value, str)
        else as_text(value)
        for name, value in (request.get("params") or {}).items()
    }
    has_body = method in METHODS_WITH_BODY and "body" in request
    return RenderedRequest(
        method=method,
        url=render_text(endpoint_url.strip(), context, encode=True),
        headers=headers,
        params=params,
        body=render_value(request.get("body"), context) if has_body else None,
        has_body=has_body,
        timeout=float(request.get("timeout") or DEFAULT_TIMEOUT_SECONDS),
    )
