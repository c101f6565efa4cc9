"""The signature check against Sinch's own known-answer vector and our negative cases."""

from __future__ import annotations

import base64

import pytest

from messaging.webhooks.signature import (
    SignatureError,
    check_timestamp,
    compute_signature,
    read_signed_headers,
    signature_matches,
)
from tests.sinch import as_meta, signed_headers

# sinch.md 1.5: the official SDKs' test vector.
VECTOR_SECRET = b"foo_secret1234"
VECTOR_NONCE = "01FJA8B4A7BM43YGWSG9GBV067"
VECTOR_TIMESTAMP = "1634579353"
VECTOR_SIGNATURE = "6bpJoRmFoXVjfJIVglMoJzYXxnoxRujzR4k2GOXewOE="
VECTOR_BODY = (
    b'{"app_id":"","accepted_time":"2021-10-18T17:49:13.813615Z","project_id":'
    b'"e2df3a34-a71b-4448-9db5-a8d2baad28e4","contact_create_notification":{"contact":'
    b'{"id":"01FJA8B466Y0R2GNXD78MD9SM1","channel_identities":[{"channel":"SMS","identity":'
    b'"48123456789","app_id":""}],"display_name":"New Test Contact","email":'
    b'"new.contact@email.com","external_id":"","metadata":"","language":"EN_US"}},'
    b'"message_metadata":""}'
)
PRETTY_BODY = b'{\n  "app_id": "01E4556565565ERKYO",\n  "message": {"id": "X"}\n}\n'


def _vector_meta(**overrides: str) -> dict[str, str]:
    meta = {
        "HTTP_X_SINCH_WEBHOOK_SIGNATURE": VECTOR_SIGNATURE,
        "HTTP_X_SINCH_WEBHOOK_SIGNATURE_NONCE": VECTOR_NONCE,
        "HTTP_X_SINCH_WEBHOOK_SIGNATURE_TIMESTAMP": VECTOR_TIMESTAMP,
        "HTTP_X_SINCH_WEBHOOK_SIGNATURE_ALGORITHM": "HmacSHA256",
    }
    meta.update(overrides)
    return {k: v for k, v in meta.items() if v is not None}


def test_computes_the_known_answer_vector() -> None:
    assert compute_signature(VECTOR_SECRET, VECTOR_BODY, VECTOR_NONCE, VECTOR_TIMESTAMP) == (
        VECTOR_SIGNATURE
    )


def test_accepts_the_known_answer_vector() -> None:
    headers = read_signed_headers(_vector_meta())
    assert signature_matches(VECTOR_SECRET, VECTOR_BODY, headers)


def test_rejects_wrong_secret() -> None:
    assert not signature_matches(
        b"foo_secret1235", VECTOR_BODY, read_signed_headers(_vector_meta())
    )


def test_rejects_altered_body() -> None:
    altered = VECTOR_BODY.replace(b"New Test Contact", b"New Test Kontact")
    assert not signature_matches(VECTOR_SECRET, altered, read_signed_headers(_vector_meta()))


def test_rejects_signature_with_stripped_newline() -> None:
    meta = as_meta(signed_headers(PRETTY_BODY, secret="s3cret"))
    headers = read_signed_headers(meta)
    assert signature_matches(b"s3cret", PRETTY_BODY, headers)
    assert not signature_matches(b"s3cret", PRETTY_BODY.rstrip(b"\n"), headers)


def test_rejects_other_nonce_or_timestamp_than_signed() -> None:
    other_nonce = read_signed_headers(_vector_meta(HTTP_X_SINCH_WEBHOOK_SIGNATURE_NONCE="X" * 26))
    assert not signature_matches(VECTOR_SECRET, VECTOR_BODY, other_nonce)
    other_time = read_signed_headers(
        _vector_meta(HTTP_X_SINCH_WEBHOOK_SIGNATURE_TIMESTAMP="1634579354")
    )
    assert not signature_matches(VECTOR_SECRET, VECTOR_BODY, other_time)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("HTTP_X_SINCH_WEBHOOK_SIGNATURE", "missing x-sinch-webhook-signature header"),
        ("HTTP_X_SINCH_WEBHOOK_SIGNATURE_NONCE", "missing x-sinch-webhook-signature-nonce header"),
        (
            "HTTP_X_SINCH_WEBHOOK_SIGNATURE_TIMESTAMP",
            "missing x-sinch-webhook-signature-timestamp header",
        ),
    ],
)
def test_rejects_each_missing_header(header: str, reason: str) -> None:
    meta = _vector_meta()
    del meta[header]
    with pytest.raises(SignatureError, match=reason):
        read_signed_headers(meta)


def test_algorithm_header_is_optional() -> None:
    meta = _vector_meta()
    del meta["HTTP_X_SINCH_WEBHOOK_SIGNATURE_ALGORITHM"]
    assert signature_matches(VECTOR_SECRET, VECTOR_BODY, read_signed_headers(meta))


@pytest.mark.parametrize("algorithm", ["HmacSHA512", "hmacsha256", "sha256", ""])
def test_rejects_wrong_algorithm(algorithm: str) -> None:
    with pytest.raises(SignatureError, match="unsupported signature algorithm"):
        read_signed_headers(_vector_meta(HTTP_X_SINCH_WEBHOOK_SIGNATURE_ALGORITHM=algorithm))


def test_rejects_signature_that_is_not_base64() -> None:
    with pytest.raises(SignatureError, match="not base64"):
        read_signed_headers(_vector_meta(HTTP_X_SINCH_WEBHOOK_SIGNATURE="not base64!"))


def test_rejects_unpadded_signature() -> None:
    unpadded = VECTOR_SIGNATURE.rstrip("=")
    with pytest.raises(SignatureError, match="not base64"):
        read_signed_headers(_vector_meta(HTTP_X_SINCH_WEBHOOK_SIGNATURE=unpadded))


def test_rejects_timestamp_that_is_not_seconds() -> None:
    with pytest.raises(SignatureError, match="whole number of seconds"):
        read_signed_headers(
            _vector_meta(HTTP_X_SINCH_WEBHOOK_SIGNATURE_TIMESTAMP="2021-10-18T17:49:13Z")
        )


@pytest.mark.parametrize("offset", [-301, 301, -86400, 86400])
def test_rejects_stale_and_future_timestamps(offset: int) -> None:
    headers = read_signed_headers(_vector_meta())
    with pytest.raises(SignatureError, match="outside the allowed window"):
        check_timestamp(headers, now=int(VECTOR_TIMESTAMP) - offset, tolerance=300)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_accepts_timestamps_inside_the_window(offset: int) -> None:
    headers = read_signed_headers(_vector_meta())
    check_timestamp(headers, now=int(VECTOR_TIMESTAMP) + offset, tolerance=300)


def test_signature_is_standard_padded_base64() -> None:
    signature = compute_signature(VECTOR_SECRET, VECTOR_BODY, VECTOR_NONCE, VECTOR_TIMESTAMP)
    assert len(signature) == 44 and signature.endswith("=")
    assert len(base64.b64decode(signature)) == 32
