"""Signs callbacks exactly as the Conversation API does, for tests and benchmarks."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from messaging.webhooks.signature import compute_signature

FIXTURES = Path(__file__).parent / "fixtures" / "sinch"
WEBHOOK_SECRET = "webhook-secret-0123456789"


def fixture_body(trigger: str, **changes: Any) -> bytes:
    """The fixture of a trigger as bytes, with top-level or notification fields changed."""
    payload = json.loads((FIXTURES / f"{trigger.lower()}.json").read_text())
    for key, value in changes.items():
        target = payload
        *path, last = key.split("__")
        for part in path:
            target = target[part]
        target[last] = value
    return json.dumps(payload).encode()


def signed_headers(
    body: bytes,
    *,
    secret: str = WEBHOOK_SECRET,
    nonce: str | None = None,
    timestamp: int | str | None = None,
    algorithm: str | None = "HmacSHA256",
) -> dict[str, str]:
    """HTTP headers of a signed callback (fresh nonce and current time by default)."""
    nonce = nonce or uuid.uuid4().hex.upper()[:26]
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "content-type": "application/json",
        "x-sinch-webhook-signature-nonce": nonce,
        "x-sinch-webhook-signature-timestamp": timestamp,
        "x-sinch-webhook-signature": compute_signature(secret.encode(), body, nonce, timestamp),
    }
    if algorithm is not None:
        headers["x-sinch-webhook-signature-algorithm"] = algorithm
    return headers


def as_meta(headers: dict[str, str]) -> dict[str, str]:
    """The same headers as Django's test client takes them (HTTP_X_...)."""
    meta = {}
    for name, value in headers.items():
        if name == "content-type":
            continue
        meta["HTTP_" + name.upper().replace("-", "_")] = value
    return meta


def post_callback(
    client: Any, service_id: int, body: bytes, headers: dict[str, str] | None = None
) -> Any:
    """POST a callback to the webhook as Sinch would (signed afresh unless headers are given)."""
    headers = signed_headers(body) if headers is None else headers
    return client.post(
        f"/webhooks/sinch/{service_id}/",
        data=body,
        content_type="application/json",
        **as_meta(headers),
    )
