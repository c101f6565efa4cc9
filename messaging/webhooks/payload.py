"""The JSON of a callback body: what the webhook accepts, and how a stored body is read back.

Python's json module accepts more than JSON (NaN, Infinity, 1e999 as infinity, lone UTF-16
surrogates such as "\\ud800", any nesting its recursion allows). None of those can be stored in a
PostgreSQL text or jsonb column, encoded as UTF-8 for a page, or rendered by DRF's strict JSON
renderer, so each is settled here, once (docs/architecture.md, "The webhook path"):

- refused at the webhook with a 400 naming the fault (`parse_received`): a body that is not
  UTF-8, not JSON, not an object, holds NaN or Infinity or a number beyond a double's range, or is
  nested deeper than `MAX_DEPTH`. Sinch never sends any of these; a 400 stops its retries.
- accepted and made safe where used (`json_safe`, `stored_json`): lone surrogates become U+FFFD
  (an end user's broken emoji must not lose the message) and NUL characters are dropped (text and
  jsonb cannot hold them). Duplicate keys keep the last value, as Python's json does.

The checks cost nothing on an ordinary body: the decoder's hooks run only for NaN, Infinity and
floats, and the walks run only when a byte scan of the body shows that they are needed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Sinch's bodies nest about eight levels; the interpreter's own limit (~1,000) is far beyond
# what a page can render.
MAX_DEPTH = 64

_SURROGATE = re.compile("[\ud800-\udfff]")
# Escapes that may stand for a lone surrogate (\ud800-\udfff, hex in either case) or NUL.
_UNSAFE_ESCAPES = (b"\\ud", b"\\uD", b"\\u0000")


class BodyRefused(ValueError):
    """The body is not JSON this service accepts; the message is the reason the sender gets."""


def _refuse_constant(name: str) -> Any:
    raise BodyRefused(f"body is not JSON: {name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise BodyRefused(f"body holds a number out of range: {text[:40]}")
    return value


def _none_constant(name: str) -> None:
    return None


def _float_or_none(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


_RECEIVED = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
# Bodies stored before the webhook refused NaN and infinite numbers read them as null.
_STORED = json.JSONDecoder(parse_constant=_none_constant, parse_float=_float_or_none)


def parse_received(body: bytes) -> dict[str, Any]:
    """The callback body as a JSON object; raises BodyRefused saying what is wrong with it."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        # Strict UTF-8 also refuses surrogates written as raw bytes (ED A0 80).
        raise BodyRefused("body is not UTF-8") from None
    try:
        payload = _RECEIVED.decode(text.removeprefix("\ufeff"))
    except BodyRefused:
        raise
    except RecursionError:
        raise BodyRefused(f"body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        # JSONDecodeError, or an integer past the interpreter's 4,300 digits.
        raise BodyRefused("body is not JSON") from None
    if not isinstance(payload, dict):
        raise BodyRefused("body is not a JSON object")
    # Depth cannot exceed the number of brackets: only a body with many of them is walked.
    if _brackets(body) > MAX_DEPTH and _deeper_than(payload, MAX_DEPTH):
        raise BodyRefused(f"body is nested deeper than {MAX_DEPTH} levels")
    return payload


def stored_json(raw_body: bytes) -> Any:
    """A stored body as JSON fit to store and show (see `json_safe`); BodyRefused if unreadable.

    Bodies stored before the webhook's checks may hold anything the json module accepted.
    """
    try:
        text = raw_body.decode(json.detect_encoding(raw_body), "replace")
        value = _STORED.decode(text.removeprefix("\ufeff"))
    except RecursionError:
        raise BodyRefused(f"body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise BodyRefused("body is not JSON") from None
    if _brackets(raw_body) > MAX_DEPTH or any(e in raw_body for e in _UNSAFE_ESCAPES):
        return json_safe(value)
    return value


def json_safe(value: Any, depth: int = 0) -> Any:
    """`value` without lone surrogates (U+FFFD), NUL, NaN or infinities (null), and with
    containers deeper than MAX_DEPTH levels replaced by null."""
    if isinstance(value, str):
        return text_safe(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return None
        return {text_safe(str(k)): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            return None
        return [json_safe(item, depth + 1) for item in value]
    return value


def text_safe(text: str) -> str:
    """`text` as a database and UTF-8 can hold it: lone surrogates as U+FFFD, NUL dropped."""
    if text.isascii():
        return text.replace("\x00", "") if "\x00" in text else text
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def _brackets(body: bytes) -> int:
    return body.count(b"{") + body.count(b"[")


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels (iterative: any depth is safe)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False
