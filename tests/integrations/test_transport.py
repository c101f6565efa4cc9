"""The hardened session: HTTPS, verified certificates, no redirects, bounded reads, filter."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.delivery import backoff_seconds, retry_after_seconds
from integrations.transport import (
    MAX_RESPONSE_BYTES,
    TransportError,
    address_refusal,
    oauth_tokens,
    send,
)
from tests.httpsink import HttpsSink, SinkAnswer


def _get(url: str, timeout: float = 5.0, **kwargs: Any) -> Any:
    return send(method="GET", url=url, headers={}, params={}, timeout=timeout, **kwargs)


def test_sends_over_verified_https_and_reads_json(https_sink: HttpsSink) -> None:
    https_sink.answer(SinkAnswer(body={"queue": {"id": 3}}, headers={"X-Trace": "abc"}))

    answer = send(
        method="POST",
        url=f"{https_sink.url}/events",
        headers={"x-api-key": "k"},
        params={"event": "ended"},
        body={"a": 1},
        has_body=True,
        timeout=5,
    )

    assert answer.status == 200
    assert answer.body == {"queue": {"id": 3}}
    assert answer.headers["X-Trace"] == "abc"
    received = https_sink.requests[0]
    assert received.query == {"event": "ended"}
    assert received.json == {"a": 1}
    assert received.headers["x-api-key"] == "k"


def test_refuses_a_certificate_no_trusted_authority_signed(
    https_sink: HttpsSink, settings: Any
) -> None:
    settings.INTEGRATIONS_CA_BUNDLE = ""

    with pytest.raises(TransportError) as caught:
        _get(https_sink.url)

    assert "TLS failed" in str(caught.value)
    assert not caught.value.retryable
    assert https_sink.requests == []


def test_refuses_plain_http() -> None:
    with pytest.raises(TransportError, match="only https://"):
        _get("http://127.0.0.1:9/")


def test_refuses_loopback_unless_allow_listed(https_sink: HttpsSink, settings: Any) -> None:
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []

    with pytest.raises(TransportError) as caught:
        _get(https_sink.url)

    assert "127.0.0.1 is a loopback address" in str(caught.value)
    assert "INTEGRATIONS_ALLOWED_NETWORKS" in str(caught.value)
    assert not caught.value.retryable
    assert https_sink.requests == []


def test_refuses_a_name_that_resolves_to_loopback(https_sink: HttpsSink, settings: Any) -> None:
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []
    port = https_sink.url.rsplit(":", 1)[1]

    with pytest.raises(TransportError, match="loopback"):
        _get(f"https://localhost:{port}/")


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local (cloud metadata)"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("100.64.0.1", "non-public"),
        ("0.0.0.0", "private"),  # noqa: S104
        ("224.0.0.1", "non-public"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_filter(address: str, refused: str | None, settings: Any) -> None:
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []
    problem = address_refusal(address)
    if refused is None:
        assert problem is None
    else:
        assert problem is not None and refused in problem


def test_allow_list_admits_a_private_network(settings: Any) -> None:
    settings.INTEGRATIONS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert address_refusal("10.9.9.9") is None
    assert address_refusal("192.168.1.1") is not None


def test_does_not_follow_redirects(https_sink: HttpsSink) -> None:
    https_sink.answer(SinkAnswer(status=302, headers={"Location": "https://10.0.0.1/"}))

    answer = _get(https_sink.url)

    assert answer.status == 302
    assert len(https_sink.requests) == 1


def test_reads_the_body_only_up_to_the_bound(https_sink: HttpsSink) -> None:
    https_sink.answer(SinkAnswer(raw=b"x" * (MAX_RESPONSE_BYTES * 3)))

    answer = _get(https_sink.url)

    assert answer.truncated
    assert len(answer.excerpt) <= 2000


def test_a_hanging_endpoint_is_cut_at_the_timeout(https_sink: HttpsSink) -> None:
    https_sink.answer(SinkAnswer(delay=3))

    with pytest.raises(TransportError) as caught:
        _get(https_sink.url, timeout=0.5)

    assert "0.5 s" in str(caught.value)
    assert caught.value.retryable


def test_connection_refused_is_retryable() -> None:
    with pytest.raises(TransportError) as caught:
        _get("https://127.0.0.1:9/")
    assert caught.value.retryable


def test_oauth_token_is_fetched_once_and_cached(https_sink: HttpsSink) -> None:
    https_sink.answer(SinkAnswer(body={"access_token": "tok-1", "expires_in": 3600}))
    url = f"{https_sink.url}/oauth2/token"

    first = oauth_tokens.token(token_url=url, client_id="cid", secret="s3", scope="a b", timeout=5)
    second = oauth_tokens.token(token_url=url, client_id="cid", secret="s3", scope="a b", timeout=5)

    assert first == second == "tok-1"
    assert len(https_sink.requests) == 1
    form = https_sink.requests[0].raw_body.decode()
    assert "grant_type=client_credentials" in form and "scope=a+b" in form
    assert https_sink.requests[0].headers["authorization"].startswith("Basic ")


def test_retry_after_as_seconds_and_as_date() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("999999") == 3600.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_doubles_with_half_of_it_random() -> None:
    delays = [backoff_seconds(n, base=10, cap=900, jitter=0.0) for n in (1, 2, 3, 4)]
    assert delays == [5.0, 10.0, 20.0, 40.0]
    assert backoff_seconds(1, base=10, cap=900, jitter=0.999) < 10
    assert backoff_seconds(20, base=10, cap=900, jitter=1.0) == 900
