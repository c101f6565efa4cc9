"""Conversation API callback signatures (sinch.md 1.2): HMAC-SHA256 over body.nonce.timestamp.

Pure functions over bytes and header values, so that the known-answer vector and every negative
case can be tested without a request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

# Header names as WSGI puts them in request.META.
SIGNATURE_META = "HTTP_X_SINCH_WEBHOOK_SIGNATURE"
NONCE_META = "HTTP_X_SINCH_WEBHOOK_SIGNATURE_NONCE"
TIMESTAMP_META = "HTTP_X_SINCH_WEBHOOK_SIGNATURE_TIMESTAMP"
ALGORITHM_META = "HTTP_X_SINCH_WEBHOOK_SIGNATURE_ALGORITHM"
ALGORITHM = "HmacSHA256"
MAX_NONCE_LENGTH = 200


class SignatureError(Exception):
    """The request does not carry a valid Sinch signature; the message says why."""


@dataclass(frozen=True)
class SignedHeaders:
    """The signature headers of one callback, checked for presence and form."""

    signature: bytes
    nonce: str
    timestamp: int
    timestamp_text: str


def compute_signature(secret: bytes, body: bytes, nonce: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, body + "." + nonce + "." + timestamp)), as Sinch signs."""
    signed = body + b"." + nonce.encode() + b"." + timestamp.encode()
    return base64.b64encode(hmac.digest(secret, signed, hashlib.sha256)).decode()


def read_signed_headers(meta: Mapping[str, str]) -> SignedHeaders:
    """Pick the signature headers out of request.META, or say which one is wrong."""
    signature = meta.get(SIGNATURE_META, "")
    nonce = meta.get(NONCE_META, "")
    timestamp = meta.get(TIMESTAMP_META, "")
    if not signature:
        raise SignatureError("missing x-sinch-webhook-signature header")
    if not nonce:
        raise SignatureError("missing x-sinch-webhook-signature-nonce header")
    if not timestamp:
        raise SignatureError("missing x-sinch-webhook-signature-timestamp header")
    algorithm = meta.get(ALGORITHM_META)
    if algorithm is not None and algorithm != ALGORITHM:
        raise SignatureError(f"unsupported signature algorithm (expected {ALGORITHM})")
    if len(nonce) > MAX_NONCE_LENGTH:
        raise SignatureError("nonce too long")
    try:
        seconds = int(timestamp)
    except ValueError:
        raise SignatureError("timestamp is not a whole number of seconds") from None
    try:
        decoded = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("signature is not base64") from None
    return SignedHeaders(
        signature=decoded, nonce=nonce, timestamp=seconds, timestamp_text=timestamp
    )


def check_timestamp(headers: SignedHeaders, *, now: float, tolerance: int) -> None:
    """Refuse signatures made more than `tolerance` seconds before or after now."""
    if abs(now - headers.timestamp) > tolerance:
        raise SignatureError(f"timestamp outside the allowed window of {tolerance} s")


def signature_matches(secret: bytes, body: bytes, headers: SignedHeaders) -> bool:
    """Constant-time comparison of the expected and the received signature."""
    signed = body + b"." + headers.nonce.encode() + b"." + headers.timestamp_text.encode()
    expected = hmac.digest(secret, signed, hashlib.sha256)
    return hmac.compare_digest(expected, headers.signature)
