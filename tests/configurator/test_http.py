"""The hardened client (configurator.http) and the one token cache (configurator.http_tokens).

Against real servers on 127.0.0.1: the HTTPS sink (trusted through a session's CA bundle) and the
fake Conversation API (plain HTTP). Integrations' and Sinch's own rules are tested with them
(tests/integrations/test_transport.py, tests/messaging/test_client.py); this file is about what
the two share.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import trustme

from configurator import http_tokens
from configurator.http import HardenedSession, HttpAnswer, OutboundError, Oversize
from configurator.http_tokens import ClientCredentials, OAuthTokens, TokenNotIssued
from integrations import transport
from messaging.sinch import client
from tests.factories import make_service
from tests.fakesinch import FakeSinch
from tests.httpsink import HttpsSink, SinkAnswer

SECRET = "client-secret-never-shown"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _session(sink_ca: tuple[trustme.CA, Path], **options: Any) -> HardenedSession:
    bundle = str(sink_ca[1])
    return HardenedSession(max_response_bytes=1024, ca_bundle=lambda: bundle, **options)


def _credentials(sink: HttpsSink, secret: str = SECRET, scope: str = "") -> ClientCredentials:
    return ClientCredentials(
        token_url=f"{sink.url}/oauth2/token", client_id="cid", secret=secret, scope=scope
    )


def test_the_address_filter_is_an_option_of_the_session(
    https_sink: HttpsSink, sink_ca: tuple[trustme.CA, Path]
) -> None:
    seen: list[str] = []

    def refuse_all(address: str) -> str:
        seen.append(address)
        return f"{address} is not for this session"

    open_session = _session(sink_ca)
    guarded = _session(sink_ca, address_filter=refuse_all)

    assert open_session.send(method="GET", url=https_sink.url, timeout=5).status == 200
    with pytest.raises(OutboundError) as caught:
        guarded.send(method="GET", url=https_sink.url, timeout=5)

    assert str(caught.value) == "127.0.0.1 is not for this session"
    assert not caught.value.retryable
    assert seen == ["127.0.0.1"]
    assert len(https_sink.requests) == 1


def test_an_https_only_session_refuses_plain_http_and_another_sends_it(
    fake_sinch: FakeSinch, sink_ca: tuple[trustme.CA, Path]
) -> None:
    with pytest.raises(OutboundError, match="only https:// endpoints are called"):
        _session(sink_ca).send(method="POST", url=fake_sinch.token_url, timeout=5)
    assert fake_sinch.requests == []

    answer = _session(sink_ca, https_only=False).send(
        method="POST", url=fake_sinch.token_url, data={"grant_type": "x"}, timeout=5
    )

    assert answer.status == 400  # the fake wants Basic credentials; an answer, not an error
    assert answer.body == {"error": "invalid_request"}
    assert len(fake_sinch.requests) == 1


def test_an_oversized_answer_is_cut_or_refused_as_the_session_says(
    https_sink: HttpsSink, sink_ca: tuple[trustme.CA, Path]
) -> None:
    https_sink.answer(SinkAnswer(raw=b"x" * 5000), SinkAnswer(raw=b"x" * 5000))

    cut = _session(sink_ca).send(method="GET", url=https_sink.url, timeout=5, max_bytes=2048)
    with pytest.raises(OutboundError) as caught:
        _session(sink_ca, oversize=Oversize.REFUSE).send(
            method="GET", url=https_sink.url, timeout=5
        )

    assert cut.truncated and cut.content == b"x" * 2048
    assert caught.value.status == 200
    assert str(caught.value) == "answered 200 with more than 1 KiB; not read"


def test_no_answer_is_one_error_with_a_reason_and_whether_to_retry(
    https_sink: HttpsSink, sink_ca: tuple[trustme.CA, Path]
) -> None:
    https_sink.answer(SinkAnswer(delay=3))

    with pytest.raises(OutboundError) as caught:
        _session(sink_ca).send(method="GET", url=https_sink.url, timeout=0.3)

    assert str(caught.value) == caught.value.reason == "no answer within 0.3 s"
    assert caught.value.retryable
    assert caught.value.status is None


def test_a_token_is_fetched_once_and_reused(
    https_sink: HttpsSink, sink_ca: tuple[trustme.CA, Path]
) -> None:
    https_sink.answer(SinkAnswer(body={"access_token": "tok-1", "expires_in": 3600}))
    tokens = OAuthTokens()
    session = _session(sink_ca)

    first = tokens.token(_credentials(https_sink, scope="a b"), session=session, timeout=5)
    second = tokens.token(_credentials(https_sink, scope="a b"), session=session, timeout=5)

    assert (first.value, first.fresh) == ("tok-1", True)
    assert (second.value, second.fresh) == ("tok-1", False)
    (request,) = https_sink.requests
    assert request.raw_body == b"grant_type=client_credentials&scope=a+b"
    assert request.headers["authorization"].startswith("Basic ")


def test_tokens_are_kept_per_secret_and_scope(
    https_sink: HttpsSink, sink_ca: tuple[trustme.CA, Path]
) -> None:
    https_sink.answer(*[SinkAnswer(body={"access_token": f"t{n}"}) for n in range(3)])
    tokens = OAuthTokens()
    session = _session(sink_ca)

    values = [
        tokens.token(credentials, session=session, timeout=5, default_lifetime=300).value
        for credentials in (
            _credentials(https_sink),
            _credentials(https_sink, secret="rotated"),
            _credentials(https_sink, scope="read"),
            _credentials(https_sink),
        )
    ]

    assert values == ["t0", "t1", "t2", "t0"]
    assert len(https_sink.requests) == 3


def test_a_token_is_renewed_before_it_expires(
    https_sink: HttpsSink, sink_ca: tuple[trustme.CA, Path]
) -> None:
    https_sink.answer(
        SinkAnswer(body={"access_token": "long", "expires_in": 3600}),
        SinkAnswer(body={"access_token": "short", "expires_in": 100}),
        SinkAnswer(body={"access_token": "next"}),
    )
    clock = Clock()
    tokens = OAuthTokens(clock)
    session = _session(sink_ca)
    credentials = _credentials(https_sink)

    def token() -> str:
        return tokens.token(credentials, session=session, timeout=5).value

    assert token() == "long"
    clock.now += 3600 - 61  # renewed a minute before Sinch's hour ends
    assert token() == "long"
    clock.now += 2
    assert token() == "short"
    clock.now += 89  # a short life is renewed at nine tenths of it
    assert token() == "short"
    clock.now += 2
    assert token() == "next"
    with pytest.raises(TokenNotIssued):  # no lifetime: "next" served its call only
        token()
    assert len(https_sink.requests) == 4


def test_a_refused_token_is_dropped_unless_already_replaced(
    https_sink: HttpsSink, sink_ca: tuple[trustme.CA, Path]
) -> None:
    https_sink.answer(
        SinkAnswer(body={"access_token": "old", "expires_in": 3600}),
        SinkAnswer(body={"access_token": "new", "expires_in": 3600}),
    )
    tokens = OAuthTokens()
    session = _session(sink_ca)
    credentials = _credentials(https_sink)
    old = tokens.token(credentials, session=session, timeout=5).value

    tokens.drop(credentials, old)
    new = tokens.token(credentials, session=session, timeout=5).value
    tokens.drop(credentials, old)  # a second thread's late drop of the old one

    assert (old, new) == ("old", "new")
    assert tokens.cached(credentials)
    assert tokens.token(credentials, session=session, timeout=5).value == "new"


@pytest.mark.parametrize(("status", "retryable"), [(200, False), (401, False), (503, True)])
def test_an_answer_without_a_token_says_so_and_never_the_secret(
    https_sink: HttpsSink, sink_ca: tuple[trustme.CA, Path], status: int, retryable: bool
) -> None:
    https_sink.answer(SinkAnswer(status=status, body={"echo": SECRET}))
    credentials = _credentials(https_sink)

    with pytest.raises(TokenNotIssued) as caught:
        OAuthTokens().token(credentials, session=_session(sink_ca), timeout=5)

    assert str(caught.value) == (
        f"the OAuth token endpoint answered {status} without an access token"
    )
    assert caught.value.retryable is retryable
    assert isinstance(caught.value.answer, HttpAnswer)
    assert SECRET not in repr(credentials)


def test_one_cache_serves_integrations_and_sinch(
    db: None,
    https_sink: HttpsSink,
    fake_sinch: FakeSinch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    make_service(app_id="01E4556565565ERKYAPP")
    https_sink.answer(SinkAnswer(body={"access_token": "integration-token", "expires_in": 3600}))
    token_url = f"{https_sink.url}/oauth2/token"

    def integration_token() -> str:
        credentials = ClientCredentials(token_url=token_url, client_id="cid", secret=SECRET)
        return transport.integration_tokens.bearer(credentials, timeout=5).value

    def reply() -> None:
        client.message_send(
            app_id="01E4556565565ERKYAPP",
            channel="WHATSAPP",
            identity="46732001122",
            message={"text_message": {"text": "hi"}},
        )

    assert integration_token() == "integration-token"
    reply()
    assert integration_token() == "integration-token"
    reply()
    assert len(http_tokens.oauth_tokens) == 2
    assert len(https_sink.requests) == 1
    assert len(fake_sinch.token_requests) == 1

    transport.integration_tokens.clear()  # the one cache: Sinch's token goes too
    reply()
    assert len(fake_sinch.token_requests) == 2

    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in [SECRET, "integration-token", *fake_sinch.issued_tokens]:
        assert secret not in logged
