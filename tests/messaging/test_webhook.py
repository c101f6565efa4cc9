"""POST /webhooks/sinch/<id>/, each test twice: through the production WSGI entry (the lean
webhook path gunicorn serves) and through Django's full request stack (the view)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from django.test import Client

from messaging import services
from messaging.models import Callback, MessagingService
from messaging.webhooks.processing import callbacks_process_pending
from messaging.webhooks.secrets import webhook_secrets
from tests.factories import inbound, outbound
from tests.sinch import WEBHOOK_SECRET, fixture_body, post_callback, signed_headers
from tests.wsgiclient import WSGIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["entry", "view"])
def client(request: pytest.FixtureRequest) -> Any:
    """The production WSGI application, or Django's test client (the view alone)."""
    return WSGIClient() if request.param == "entry" else Client()


post = post_callback


def test_stores_verified_callback_and_answers_200(
    client: Client, service: MessagingService
) -> None:
    body = fixture_body("message_inbound")
    headers = signed_headers(body)
    response = post(client, service.pk, body, headers)
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    callback = Callback.objects.get()
    assert bytes(callback.raw_body) == body
    assert callback.status == "pending"
    assert callback.trigger == "MESSAGE_INBOUND"
    assert callback.app_id == "01E4556565565ERKYO"
    assert callback.message_id == "01HMSGINBOUND0000000000001"
    assert callback.contact_id == "01FJA8B466Y0R2GNXD78MD9SM1"
    assert callback.conversation_id == "01FJA8B4A7BM43YGWSG9GBV067"
    assert callback.nonce == headers["x-sinch-webhook-signature-nonce"]
    assert int(callback.signed_at.timestamp()) == int(
        headers["x-sinch-webhook-signature-timestamp"]
    )


def test_stores_pretty_printed_body_byte_for_byte(
    client: Client, service: MessagingService
) -> None:
    body = json.dumps(json.loads(fixture_body("message_inbound")), indent=2).encode() + b"\n"
    assert post(client, service.pk, body).status_code == 200
    assert bytes(Callback.objects.get().raw_body) == body


def _refused(response: Any, status: int, reason: str) -> None:
    assert response.status_code == status, response.content
    assert reason in response.json()["error"]
    assert Callback.objects.count() == 0


@pytest.mark.parametrize(
    "header",
    [
        "x-sinch-webhook-signature",
        "x-sinch-webhook-signature-nonce",
        "x-sinch-webhook-signature-timestamp",
    ],
)
def test_missing_header_is_401_and_stores_nothing(
    client: Client, service: MessagingService, header: str
) -> None:
    body = fixture_body("message_inbound")
    headers = signed_headers(body)
    del headers[header]
    _refused(post(client, service.pk, body, headers), 401, f"missing {header} header")


def test_wrong_secret_is_401(client: Client, service: MessagingService) -> None:
    body = fixture_body("message_inbound")
    headers = signed_headers(body, secret="another-secret")
    _refused(post(client, service.pk, body, headers), 401, "signature does not match")


def test_altered_body_is_401(client: Client, service: MessagingService) -> None:
    body = fixture_body("message_inbound")
    headers = signed_headers(body)
    _refused(post(client, service.pk, body.replace(b"help", b"hell"), headers), 401, "signature")


def test_stripped_trailing_newline_is_401(client: Client, service: MessagingService) -> None:
    body = json.dumps(json.loads(fixture_body("message_inbound")), indent=2).encode() + b"\n"
    headers = signed_headers(body)
    _refused(post(client, service.pk, body.rstrip(b"\n"), headers), 401, "signature")


@pytest.mark.parametrize("offset", [-310, 310])
def test_stale_or_future_timestamp_is_401(
    client: Client, service: MessagingService, offset: int
) -> None:
    body = fixture_body("message_inbound")
    headers = signed_headers(body, timestamp=int(time.time()) + offset)
    _refused(post(client, service.pk, body, headers), 401, "outside the allowed window")


def test_tolerance_comes_from_settings(
    client: Client, service: MessagingService, settings: Any
) -> None:
    settings.SINCH_WEBHOOK_TOLERANCE = 3600
    body = fixture_body("message_inbound")
    headers = signed_headers(body, timestamp=int(time.time()) - 1800)
    assert post(client, service.pk, body, headers).status_code == 200


def test_wrong_algorithm_is_401(client: Client, service: MessagingService) -> None:
    body = fixture_body("message_inbound")
    headers = signed_headers(body, algorithm="HmacSHA512")
    _refused(post(client, service.pk, body, headers), 401, "unsupported signature algorithm")


def test_repeated_nonce_is_401_and_stores_once(client: Client, service: MessagingService) -> None:
    body = fixture_body("message_inbound")
    headers = signed_headers(body)
    assert post(client, service.pk, body, headers).status_code == 200
    response = post(client, service.pk, body, headers)
    assert response.status_code == 401
    assert response.json()["error"] == "nonce already used"
    assert Callback.objects.count() == 1


def test_same_nonce_on_another_service_is_accepted(
    client: Client, service: MessagingService
) -> None:
    other = services.messaging_service_create(
        name="Sinch US",
        service_connection="https://us.conversation.api.sinch.com/v1/projects/p-2/messages:send",
        type="sinchconversation",
        authentications=[outbound("01OTHERAPP"), inbound()],
    )
    body = fixture_body("message_inbound")
    headers = signed_headers(body)
    assert post(client, service.pk, body, headers).status_code == 200
    assert post(client, other.pk, body, headers).status_code == 200


def test_unknown_service_is_404(client: Client, service: MessagingService) -> None:
    body = fixture_body("message_inbound")
    _refused(post(client, service.pk + 1000, body), 404, "unknown messaging service")


def test_a_service_id_no_database_key_can_hold_is_404(
    client: Client, service: MessagingService
) -> None:
    body = fixture_body("message_inbound")
    _refused(post(client, 99999999999999999999999, body), 404, "unknown messaging service")


def test_signed_body_that_is_not_json_is_400(client: Client, service: MessagingService) -> None:
    body = b"this is not json"
    _refused(post(client, service.pk, body), 400, "not JSON")


def test_signed_json_that_is_not_an_object_is_400(
    client: Client, service: MessagingService
) -> None:
    _refused(post(client, service.pk, b"[1, 2]"), 400, "not a JSON object")


def test_unsigned_garbage_is_401_not_400(client: Client, service: MessagingService) -> None:
    _refused(post(client, service.pk, b"garbage", headers={}), 401, "missing")


def test_body_over_one_mebibyte_is_413(client: Client, service: MessagingService) -> None:
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    _refused(post(client, service.pk, body), 413, "larger than 1 MiB")


def test_body_of_exactly_one_mebibyte_is_accepted(
    client: Client, service: MessagingService
) -> None:
    envelope = fixture_body("message_inbound")[:-1] + b', "pad": "'
    body = envelope + b"x" * (1024 * 1024 - len(envelope) - 2) + b'"}'
    assert len(body) == 1024 * 1024
    assert post(client, service.pk, body).status_code == 200


def test_get_is_405(client: Client, service: MessagingService) -> None:
    assert client.get(f"/webhooks/sinch/{service.pk}/").status_code == 405


def test_rotated_secret_is_used_at_once_even_by_a_process_with_a_stale_cache(
    client: Client, service: MessagingService
) -> None:
    body = fixture_body("message_inbound")
    assert post(client, service.pk, body).status_code == 200
    stale = webhook_secrets._entries[service.pk]
    services.messaging_service_update(
        service=service,
        authentications=[outbound("01E4556565565ERKYO"), inbound(secret="rotated-secret-42")],
    )
    # Another web process still holds the old secret in its cache.
    webhook_secrets._entries[service.pk] = (stale[0], stale[1] - 5)
    other = fixture_body("message_inbound", message__id="01HMSGINBOUND0000000000002")
    assert (
        post(
            client, service.pk, other, signed_headers(other, secret="rotated-secret-42")
        ).status_code
        == 200
    )
    third = fixture_body("message_inbound", message__id="01HMSGINBOUND0000000000003")
    response = post(client, service.pk, third, signed_headers(third, secret=WEBHOOK_SECRET))
    assert response.status_code == 401


def test_refusals_log_no_secret(
    client: Client, service: MessagingService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = fixture_body("message_inbound")
    post(client, service.pk, body, signed_headers(body, secret="wrong"))
    assert "signature does not match" in caplog.text
    assert WEBHOOK_SECRET not in caplog.text


ALL_TRIGGERS = {
    "message_inbound": "MESSAGE_INBOUND",
    "message_inbound_smart_conversation_redaction": "MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION",
    "message_submit": "MESSAGE_SUBMIT",
    "message_delivery": "MESSAGE_DELIVERY",
    "event_inbound": "EVENT_INBOUND",
    "event_delivery": "EVENT_DELIVERY",
    "conversation_start": "CONVERSATION_START",
    "conversation_stop": "CONVERSATION_STOP",
    "conversation_delete": "CONVERSATION_DELETE",
    "contact_create": "CONTACT_CREATE",
    "contact_delete": "CONTACT_DELETE",
    "contact_merge": "CONTACT_MERGE",
    "contact_update": "CONTACT_UPDATE",
    "contact_identities_duplication": "CONTACT_IDENTITIES_DUPLICATION",
    "capability": "CAPABILITY",
    "opt_in": "OPT_IN",
    "opt_out": "OPT_OUT",
    "channel_event": "CHANNEL_EVENT",
    "unsupported": "UNSUPPORTED",
    "smart_conversation": "SMART_CONVERSATION",
    "record_notification": "RECORD_NOTIFICATION",
}
IGNORED = {
    "UNSUPPORTED",
    "SMART_CONVERSATION",
    "MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION",
    "RECORD_NOTIFICATION",
    "CONTACT_IDENTITIES_DUPLICATION",
}


@pytest.mark.usefixtures("sent_message")
@pytest.mark.parametrize(("fixture", "trigger"), sorted(ALL_TRIGGERS.items()))
def test_each_trigger_is_recognised_and_processed(
    client: Client, service: MessagingService, fixture: str, trigger: str
) -> None:
    assert post(client, service.pk, fixture_body(fixture)).status_code == 200
    assert callbacks_process_pending() == 1
    callback = Callback.objects.get()
    assert callback.trigger == trigger
    if trigger in IGNORED:
        assert callback.status == "ignored"
        assert callback.status_reason
    else:
        assert callback.status == "processed", callback.status_reason
        assert callback.summary
    assert callback.processed_at is not None


def test_smart_conversations_spelling_is_accepted_as_a_trigger() -> None:
    from messaging.validation import normalize_trigger

    assert normalize_trigger("SMART_CONVERSATIONS") == "SMART_CONVERSATION"


@pytest.mark.django_db(transaction=True)
def test_deleted_service_is_404_even_with_its_secret_still_cached(
    client: Client, service: MessagingService
) -> None:
    assert post(client, service.pk, fixture_body("message_inbound")).status_code == 200
    service_id = service.pk
    service.delete()  # another process: this one's cache still holds the secret
    other = fixture_body("message_inbound", message__id="01HMSGINBOUND0000000000009")
    response = post(client, service_id, other)
    assert response.status_code == 404
    assert response.json()["error"] == "unknown messaging service"
    assert not Callback.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_repeated_nonce_in_autocommit_is_401_and_stores_once(
    client: Client, service: MessagingService
) -> None:
    """The request path runs in autocommit, where the INSERT is its own transaction."""
    body = fixture_body("message_inbound")
    headers = signed_headers(body)
    first = post(client, service.pk, body, headers)
    assert first.status_code == 200
    second = post(client, service.pk, body, headers)
    assert second.status_code == 401
    assert second.json()["error"] == "nonce already used"
    assert list(Callback.objects.values_list("pk", flat=True)) == [first.json()["callback"]]


@pytest.mark.django_db(transaction=True)
def test_database_failure_is_503_and_stores_nothing(
    client: Client, service: MessagingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A callback that cannot be stored is not acknowledged, so Sinch sends it again."""
    from django.db import OperationalError

    from messaging.webhooks import ingest

    def unavailable(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(ingest, "insert_callback", unavailable)
    body = fixture_body("message_inbound")
    response = post(client, service.pk, body)
    assert response.status_code == 503
    assert response.json() == {"error": "callback could not be stored, retry later"}
    monkeypatch.undo()
    assert not Callback.objects.exists()
    assert post(client, service.pk, body).status_code == 200


@pytest.mark.postgres  # prepared statements are PostgreSQL's
@pytest.mark.django_db(transaction=True)
def test_statement_forgotten_by_the_server_is_prepared_again(
    client: Client, service: MessagingService
) -> None:
    """A pooler or DISCARD ALL drops prepared statements; the next callback is stored anyway."""
    from django.db import connection

    assert post(client, service.pk, fixture_body("message_inbound")).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    other = fixture_body("message_inbound", message__id="01HMSGINBOUND0000000000002")
    assert post(client, service.pk, other).status_code == 200
    assert Callback.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_nul_in_an_id_is_dropped_not_a_500(client: Client, service: MessagingService) -> None:
    """PostgreSQL text cannot hold NUL; a signed body with one is stored without it."""
    body = fixture_body("message_inbound", message__id="01HMSG\u0000INBOUND")
    response = post(client, service.pk, body)
    assert response.status_code == 200
    assert Callback.objects.get().message_id == "01HMSGINBOUND"


def test_secret_no_key_can_decrypt_is_503_and_stores_nothing(
    client: Client, service: MessagingService, settings: Any
) -> None:
    """An operator who dropped the encrypting key gets a log line; Sinch retries later."""
    from cryptography.fernet import Fernet

    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = post(client, service.pk, fixture_body("message_inbound"))
    assert response.status_code == 503
    assert response.json() == {"error": "callback could not be verified, retry later"}
    assert not Callback.objects.exists()
