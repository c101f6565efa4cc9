"""messaging.sinch.client against a fake Sinch on 127.0.0.1 (tokens, sends, failures)."""

from __future__ import annotations

import base64
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from configurator.http_tokens import oauth_tokens as sinch_tokens
from messaging import services
from messaging.models import MessagingService
from messaging.sinch import client
from messaging.sinch.client import (
    SentMessage,
    SinchError,
    SinchNotConfigured,
    message_send,
)
from tests.factories import make_service, outbound
from tests.fakesinch import FakeSinch, sinch_error
from tests.slowpeer import (
    Answer,
    SlowPeer,
    silent,
    stall_after_part,
    trickle_body,
    trickle_headers,
)

pytestmark = pytest.mark.django_db


APP_ID = "01E4556565565ERKYAPP"
KEY_ID = "3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11"
SECRET = "access-key-secret"  # what tests.factories.outbound stores
PROJECT = "e2df3a34-a71b-4448-9db5-a8d2baad28e4"
SEND_PATH = f"/v1/projects/{PROJECT}/messages:send"
TEXT = {"text_message": {"text": "Hello from the contact center"}}


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def service(db: None) -> MessagingService:
    return make_service(app_id=APP_ID)


@pytest.fixture
def basic_service(service: MessagingService) -> MessagingService:
    return services.messaging_service_update(service=service, auth_method="basic")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    clock = Clock()
    monkeypatch.setattr(sinch_tokens, "clock", clock)
    yield clock


def send(**overrides: Any) -> SentMessage:
    arguments: dict[str, Any] = {
        "app_id": APP_ID,
        "channel": "WHATSAPP",
        "identity": "46732001122",
        "message": TEXT,
    }
    arguments.update(overrides)
    return message_send(**arguments)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sends_with_an_oauth2_token(fake_sinch: FakeSinch, service: MessagingService) -> None:
    sent = send()

    token_request, send_request = fake_sinch.requests
    assert token_request.path == "/oauth2/token"
    assert token_request.body == {"grant_type": "client_credentials"}
    assert token_request.basic_credentials == (KEY_ID, SECRET)
    assert send_request.path == SEND_PATH
    assert send_request.headers["authorization"] == f"Bearer {fake_sinch.issued_tokens[0]}"
    assert send_request.headers["content-type"] == "application/json"
    assert send_request.body == {
        "app_id": APP_ID,
        "recipient": {
            "identified_by": {
                "channel_identities": [{"channel": "WHATSAPP", "identity": "46732001122"}]
            }
        },
        "message": TEXT,
    }
    assert sent.message_id.startswith("01")
    assert sent.accepted_time.endswith("Z")


def test_reuses_the_token_for_the_next_send(
    fake_sinch: FakeSinch, service: MessagingService
) -> None:
    first = send()
    second = send(identity="46732009999")

    assert len(fake_sinch.token_requests) == 1
    assert [r.bearer_token for r in fake_sinch.sends] == [fake_sinch.issued_tokens[0]] * 2
    assert first.message_id != second.message_id


def test_renews_the_token_a_minute_before_it_expires(
    fake_sinch: FakeSinch, service: MessagingService, clock: Clock
) -> None:
    send()
    clock.now += 3600 - 61
    send()
    assert len(fake_sinch.token_requests) == 1

    clock.now += 2
    send()
    assert len(fake_sinch.token_requests) == 2
    assert fake_sinch.sends[-1].bearer_token == fake_sinch.issued_tokens[1]


def test_short_lived_token_is_renewed_at_ninety_percent_of_its_life(
    fake_sinch: FakeSinch, service: MessagingService, clock: Clock
) -> None:
    fake_sinch.token_expires_in = 100
    send()
    clock.now += 89
    send()
    assert len(fake_sinch.token_requests) == 1

    clock.now += 2
    send()
    assert len(fake_sinch.token_requests) == 2


def test_token_without_lifetime_serves_one_send(
    fake_sinch: FakeSinch, service: MessagingService
) -> None:
    fake_sinch.script_token(200, {"access_token": "once", "token_type": "bearer"})
    fake_sinch.issued_tokens.append("once")
    send()
    send()
    assert len(fake_sinch.token_requests) == 2


def test_changed_secret_gets_its_own_token(
    fake_sinch: FakeSinch, service: MessagingService
) -> None:
    send()
    services.authentications_replace(
        service=service, entries=[outbound(APP_ID, secret="rotated-secret")]
    )
    send()
    assert [r.basic_credentials for r in fake_sinch.token_requests] == [
        (KEY_ID, SECRET),
        (KEY_ID, "rotated-secret"),
    ]


def test_sends_with_basic_auth(fake_sinch: FakeSinch, basic_service: MessagingService) -> None:
    sent = send()

    (request,) = fake_sinch.requests
    expected = base64.b64encode(f"{KEY_ID}:{SECRET}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.path == SEND_PATH
    assert sent.message_id


def test_refused_cached_token_is_replaced_once(
    fake_sinch: FakeSinch, service: MessagingService
) -> None:
    send()
    fake_sinch.revoke_tokens()

    sent = send()

    assert len(fake_sinch.token_requests) == 2
    old, new = fake_sinch.issued_tokens
    assert [r.bearer_token for r in fake_sinch.sends] == [old, old, new]
    assert sent.message_id


def test_refused_fresh_token_is_not_retried(
    fake_sinch: FakeSinch, service: MessagingService
) -> None:
    fake_sinch.script_token(200, {"access_token": "not-accepted", "expires_in": 3600})

    with pytest.raises(SinchError) as caught:
        send()

    assert caught.value.status == 401
    assert str(caught.value) == (
        "Sinch answered 401 UNAUTHENTICATED: Request had invalid authentication credentials."
    )
    assert len(fake_sinch.sends) == 1
    # The refused token is not kept for the next send.
    send()
    assert len(fake_sinch.token_requests) == 2


def test_refused_access_key_is_reported_with_the_key_id(
    fake_sinch: FakeSinch, service: MessagingService
) -> None:
    fake_sinch.script_token(
        401, {"error": "invalid_client", "error_description": "Client authentication failed"}
    )

    with pytest.raises(SinchError) as caught:
        send()

    assert caught.value.status == 401
    assert str(caught.value) == (
        f"Sinch refused the access key {KEY_ID}: 401 invalid_client: Client authentication failed"
    )
    assert fake_sinch.sends == []


def test_token_endpoint_failure_is_reported(
    fake_sinch: FakeSinch, service: MessagingService
) -> None:
    fake_sinch.script_token(503, text="upstream unavailable")

    with pytest.raises(SinchError) as caught:
        send()

    assert caught.value.status == 503
    assert str(caught.value) == (
        f"Sinch could not issue an access token for the key {KEY_ID}: 503: upstream unavailable"
    )


def test_surfaces_sinch_error_message(fake_sinch: FakeSinch, service: MessagingService) -> None:
    fake_sinch.script_send(
        400,
        sinch_error(
            400,
            "Invalid argument: recipient.identified_by.channel_identities[0].identity",
            "INVALID_ARGUMENT",
        ),
    )

    with pytest.raises(SinchError) as caught:
        send()

    assert caught.value.status == 400
    assert str(caught.value) == (
        "Sinch answered 400 INVALID_ARGUMENT: Invalid argument: "
        "recipient.identified_by.channel_identities[0].identity"
    )


def test_non_json_error_shows_the_start_of_the_text(
    fake_sinch: FakeSinch, basic_service: MessagingService
) -> None:
    page = "<html><body>Bad gateway\n" + "x" * 500 + "</body></html>"
    fake_sinch.script_send(502, text=page, content_type="text/html")

    with pytest.raises(SinchError) as caught:
        send()

    assert caught.value.status == 502
    text = str(caught.value)
    assert text.startswith("Sinch answered 502: <html><body>Bad gateway x")
    assert len(text) < 250


def test_success_without_message_id_is_an_error(
    fake_sinch: FakeSinch, basic_service: MessagingService
) -> None:
    fake_sinch.script_send(200, {"accepted_time": "2026-01-01T00:00:00Z"})

    with pytest.raises(SinchError, match="Sinch answered 200 without a message ID") as caught:
        send()
    assert caught.value.status == 200


def test_missing_accepted_time_is_empty(
    fake_sinch: FakeSinch, basic_service: MessagingService
) -> None:
    fake_sinch.script_send(200, {"message_id": "01ABC"})
    assert send() == SentMessage(message_id="01ABC", accepted_time="")


def test_oversized_answer_is_not_read(
    fake_sinch: FakeSinch, basic_service: MessagingService
) -> None:
    fake_sinch.script_send(200, text="x" * (client.MAX_RESPONSE_BYTES + 1))

    with pytest.raises(SinchError, match="more than 1024 KiB"):
        send()


def test_unreachable_sinch(fake_sinch: FakeSinch, service: MessagingService, settings: Any) -> None:
    port = closed_port()
    settings.SINCH_API_ORIGIN = f"http://127.0.0.1:{port}"

    with pytest.raises(SinchError) as caught:
        send()

    assert caught.value.status is None
    assert str(caught.value) == (
        f"Sinch could not be reached at 127.0.0.1:{port}: connection refused."
    )


def test_unreachable_token_endpoint(
    fake_sinch: FakeSinch, service: MessagingService, settings: Any
) -> None:
    port = closed_port()
    settings.SINCH_OAUTH_TOKEN_URL = f"http://127.0.0.1:{port}/oauth2/token"

    with pytest.raises(SinchError) as caught:
        send()

    assert caught.value.status is None
    assert str(caught.value).startswith(
        f"Sinch's token endpoint could not be reached at 127.0.0.1:{port}"
    )


def test_slow_answer_times_out(
    fake_sinch: FakeSinch, basic_service: MessagingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client, "READ_TIMEOUT", 0.2)
    fake_sinch.script_send(200, {"message_id": "late"}, delay=1.0)

    with pytest.raises(SinchError) as caught:
        send()

    assert caught.value.status is None
    assert str(caught.value).endswith(": no answer within 0.2 s.")


# The deadline calls to a misbehaving Sinch get, and the interval it trickles at: well inside it,
# so that no single read waits long enough to time out; only the whole call's deadline ends it.
DEADLINE = 0.3
TRICKLE = DEADLINE / 6


@pytest.fixture
def slow_sinch(
    settings: Any, monkeypatch: pytest.MonkeyPatch, fake_sinch: FakeSinch
) -> Iterator[SlowPeer]:
    """Sinch's API origin played by a peer that misbehaves on cue; calls get DEADLINE overall."""
    peer = SlowPeer(None)
    settings.SINCH_API_ORIGIN = peer.url
    monkeypatch.setattr(client, "READ_TIMEOUT", DEADLINE)
    yield peer
    peer.close()


@pytest.mark.parametrize(
    "misbehaviour",
    [
        pytest.param(trickle_headers(TRICKLE), id="header-lines-trickled"),
        pytest.param(trickle_body(TRICKLE), id="body-bytes-trickled"),
        pytest.param(silent(), id="never-answers"),
        pytest.param(stall_after_part(), id="answers-then-stalls"),
    ],
)
def test_a_send_ends_within_the_timeout_whatever_sinch_does(
    slow_sinch: SlowPeer, basic_service: MessagingService, misbehaviour: Answer
) -> None:
    slow_sinch.answer(misbehaviour)
    started = time.monotonic()

    with pytest.raises(SinchError) as caught:
        send()

    # The peer would hold the call for 20 s; the bound is generous, the deadline is the point.
    assert time.monotonic() - started < DEADLINE + 2
    assert caught.value.status is None
    assert str(caught.value) == (
        f"Sinch could not be reached at {slow_sinch.url.removeprefix('http://')}: "
        f"no answer within {DEADLINE:g} s."
    )
    assert send().message_id == "01SLOWPEER"


def test_kept_alive_connection_cut_by_the_deadline_is_not_used_again(
    slow_sinch: SlowPeer, basic_service: MessagingService
) -> None:
    send()
    send()
    assert slow_sinch.connections == 1
    slow_sinch.answer(trickle_body(TRICKLE))

    with pytest.raises(SinchError, match=f"no answer within {DEADLINE:g} s"):
        send()

    assert send().message_id == "01SLOWPEER"
    assert slow_sinch.connections == 2


def test_a_token_fetch_ends_within_the_timeout(
    slow_sinch: SlowPeer, service: MessagingService, settings: Any
) -> None:
    settings.SINCH_OAUTH_TOKEN_URL = f"{slow_sinch.url}/oauth2/token"
    slow_sinch.answer(trickle_headers(TRICKLE))
    started = time.monotonic()

    with pytest.raises(SinchError) as caught:
        send()

    assert time.monotonic() - started < DEADLINE + 2
    assert str(caught.value).startswith("Sinch's token endpoint could not be reached at ")
    assert str(caught.value).endswith(f": no answer within {DEADLINE:g} s.")


def test_redirects_are_not_followed(fake_sinch: FakeSinch, basic_service: MessagingService) -> None:
    fake_sinch.script_send(
        307, text="moved", headers={"Location": fake_sinch.origin + SEND_PATH + "?again"}
    )

    with pytest.raises(SinchError) as caught:
        send()

    assert caught.value.status == 307
    assert len(fake_sinch.requests) == 1


def test_app_without_outbound_credentials(fake_sinch: FakeSinch, service: MessagingService) -> None:
    with pytest.raises(SinchNotConfigured) as caught:
        send(app_id="01unknownapp")

    assert caught.value.status is None
    assert str(caught.value) == (
        "No messaging service has outbound credentials for app 01UNKNOWNAPP."
    )
    assert fake_sinch.requests == []


def test_app_id_is_matched_in_upper_case(
    fake_sinch: FakeSinch, basic_service: MessagingService
) -> None:
    send(app_id=APP_ID.lower())
    assert fake_sinch.sends[0].body["app_id"] == APP_ID


def test_api_origin_replaces_sinch_host(
    fake_sinch: FakeSinch, basic_service: MessagingService, settings: Any
) -> None:
    settings.SINCH_API_ORIGIN = fake_sinch.origin + "/"
    send()
    assert fake_sinch.sends[0].path == SEND_PATH
    assert fake_sinch.sends[0].headers["host"] == fake_sinch.origin.removeprefix("http://")


def test_without_api_origin_the_service_connection_is_used(settings: Any) -> None:
    settings.SINCH_API_ORIGIN = ""
    connection = f"https://us.conversation.api.sinch.com{SEND_PATH}"
    assert client._api_url(connection) == connection


def test_sms_channel_properties_are_sent(
    fake_sinch: FakeSinch, basic_service: MessagingService
) -> None:
    send(channel="SMS", identity="+15551231212", channel_properties={"SMS_SENDER": "ACME"})

    body = fake_sinch.sends[0].body
    assert body["recipient"]["identified_by"]["channel_identities"] == [
        {"channel": "SMS", "identity": "+15551231212"}
    ]
    assert body["channel_properties"] == {"SMS_SENDER": "ACME"}


def test_secret_and_token_never_reach_errors_or_logs(
    fake_sinch: FakeSinch, service: MessagingService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    basic = base64.b64encode(f"{KEY_ID}:{SECRET}".encode()).decode()
    errors: list[str] = []

    send()
    fake_sinch.revoke_tokens()
    send()
    fake_sinch.script_token(401, {"error": "invalid_client"})
    sinch_tokens.clear()
    with pytest.raises(SinchError) as caught:
        send()
    errors.append(str(caught.value))
    # Even a (misbehaving) proxy that echoes the credentials back does not leak them: the
    # access token of a send refused after it (still cached, still valid)...
    send()
    token = fake_sinch.issued_tokens[-1]
    fake_sinch.script_send(400, text=f"bad request: Authorization: Bearer {token}")
    with pytest.raises(SinchError) as caught:
        send()
    errors.append(str(caught.value))
    assert "bad request: Authorization: Bearer ********" in errors[-1]
    # ... and the key itself under basic authentication.
    services.messaging_service_update(service=service, auth_method="basic")
    fake_sinch.script_send(400, text=f"bad request: Authorization: Basic {basic} ({SECRET})")
    with pytest.raises(SinchError) as caught:
        send()
    errors.append(str(caught.value))

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Sending a WHATSAPP message" in logged
    for text in [*errors, logged]:
        assert SECRET not in text
        assert basic not in text
        for token in fake_sinch.issued_tokens:
            assert token not in text


def test_a_disabled_service_sends_nothing(fake_sinch: FakeSinch, service: MessagingService) -> None:
    MessagingService.objects.filter(pk=service.pk).update(enabled=False)

    with pytest.raises(SinchNotConfigured, match="is disabled: enter its secrets and enable it"):
        send()

    assert fake_sinch.requests == []
