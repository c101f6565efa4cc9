"""The hardened session: HTTPS, verified certificates, no redirects, bounded reads, filter."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from configurator.http import OutboundError
from configurator.http_tokens import ClientCredentials
from integrations.delivery import backoff_seconds, retry_after_seconds
from integrations.transport import (
    MAX_RESPONSE_BYTES,
    address_refusal,
    integration_tokens,
    send,
)
from tests.httpsink import HttpsSink, SinkAnswer
from tests.slowpeer import (
    Answer,
    SlowPeer,
    silent,
    stall_after_part,
    tls_context,
    trickle_body,
    trickle_headers,
)

# The deadline the misbehaving peers below are held to, and the interval they trickle at: well
# inside it, so that no single read waits long enough to time out and only the whole call's
# deadline can end it.
DEADLINE = 0.3
TRICKLE = DEADLINE / 6


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

    with pytest.raises(OutboundError) as caught:
        _get(https_sink.url)

    assert "TLS failed" in str(caught.value)
    assert not caught.value.retryable
    assert https_sink.requests == []


def test_refuses_plain_http() -> None:
    with pytest.raises(OutboundError, match="only https://"):
        _get("http://127.0.0.1:9/")


def test_refuses_loopback_unless_allow_listed(https_sink: HttpsSink, settings: Any) -> None:
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []

    with pytest.raises(OutboundError) as caught:
        _get(https_sink.url)

    assert "127.0.0.1 is a loopback address" in str(caught.value)
    assert "INTEGRATIONS_ALLOWED_NETWORKS" in str(caught.value)
    assert not caught.value.retryable
    assert https_sink.requests == []


def test_refuses_a_name_that_resolves_to_loopback(https_sink: HttpsSink, settings: Any) -> None:
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []
    port = https_sink.url.rsplit(":", 1)[1]

    with pytest.raises(OutboundError, match="loopback"):
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

    with pytest.raises(OutboundError) as caught:
        _get(https_sink.url, timeout=DEADLINE)

    assert str(caught.value) == f"no answer within {DEADLINE:g} s"
    assert caught.value.retryable


@pytest.fixture
def slow_peer(sink_ca: tuple[trustme.CA, Path], settings: Any) -> Iterator[SlowPeer]:
    """A TLS peer that misbehaves on cue, with a certificate integrations trust."""
    ca, bundle = sink_ca
    settings.INTEGRATIONS_CA_BUNDLE = str(bundle)
    peer = SlowPeer(tls_context(ca))
    yield peer
    peer.close()


def _assert_cut_at_the_deadline(url: str, timeout: float = DEADLINE) -> None:
    started = time.monotonic()
    with pytest.raises(OutboundError) as caught:
        _get(url, timeout=timeout)
    # The peer would hold the call for 20 s; the bound is generous, the deadline is the point.
    assert time.monotonic() - started < timeout + 2
    assert str(caught.value) == f"no answer within {timeout:g} s"
    assert caught.value.retryable


@pytest.mark.parametrize(
    "misbehaviour",
    [
        pytest.param(trickle_headers(TRICKLE), id="header-lines-trickled"),
        pytest.param(trickle_body(TRICKLE), id="body-bytes-trickled"),
        pytest.param(trickle_body(TRICKLE, chunked=True), id="chunks-trickled"),
        pytest.param(silent(), id="never-answers"),
        pytest.param(stall_after_part(), id="answers-then-stalls"),
    ],
)
def test_the_whole_call_ends_within_its_timeout(slow_peer: SlowPeer, misbehaviour: Answer) -> None:
    slow_peer.answer(misbehaviour)

    _assert_cut_at_the_deadline(slow_peer.url)

    assert _get(slow_peer.url).body["ok"] is True


def test_a_tls_handshake_that_never_finishes_is_cut_at_the_timeout(slow_peer: SlowPeer) -> None:
    slow_peer.stall_handshake = True

    _assert_cut_at_the_deadline(slow_peer.url)

    assert _get(slow_peer.url).body["ok"] is True
    assert slow_peer.connections == 2


def test_a_connect_that_never_completes_is_cut_at_the_timeout() -> None:
    # A listener whose accept queue is full: Linux drops further SYNs, so connect() hangs.
    with socket.create_server(("127.0.0.1", 0), backlog=0) as listener:
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            _assert_cut_at_the_deadline(f"https://127.0.0.1:{port}/")


def test_connections_are_kept_alive_and_one_cut_is_not_used_again(slow_peer: SlowPeer) -> None:
    _get(slow_peer.url)
    _get(slow_peer.url)
    assert slow_peer.connections == 1  # the second call reused the first connection

    slow_peer.answer(trickle_body(TRICKLE))
    _assert_cut_at_the_deadline(slow_peer.url)  # on that same kept-alive connection

    assert _get(slow_peer.url).body["ok"] is True
    assert _get(slow_peer.url).body["ok"] is True
    assert slow_peer.connections == 2  # one new connection for both calls after the cut
    assert slow_peer.requests == 5


def test_oauth_token_fetch_is_bounded_by_the_timeout(slow_peer: SlowPeer) -> None:
    slow_peer.answer(trickle_headers(TRICKLE))
    started = time.monotonic()

    with pytest.raises(OutboundError, match=f"no answer within {DEADLINE:g} s"):
        integration_tokens.bearer(
            ClientCredentials(
                token_url=f"{slow_peer.url}/oauth2/token", client_id="cid", secret="s3"
            ),
            timeout=DEADLINE,
        )

    assert time.monotonic() - started < DEADLINE + 2


def test_connection_refused_is_retryable() -> None:
    with pytest.raises(OutboundError) as caught:
        _get("https://127.0.0.1:9/")
    assert caught.value.retryable


def test_oauth_token_is_fetched_once_and_cached(https_sink: HttpsSink) -> None:
    https_sink.answer(SinkAnswer(body={"access_token": "tok-1", "expires_in": 3600}))
    url = f"{https_sink.url}/oauth2/token"

    credentials = ClientCredentials(token_url=url, client_id="cid", secret="s3", scope="a b")
    first = integration_tokens.bearer(credentials, timeout=5)
    second = integration_tokens.bearer(credentials, timeout=5)

    assert first.value == second.value == "tok-1"
    assert (first.fresh, second.fresh) == (True, False)
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
