"""Admin pages of the messaging app, through Django's test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from messaging.models import Callback, MessagingService
from messaging.webhooks.processing import callbacks_process_pending
from tests.factories import make_service
from tests.sinch import WEBHOOK_SECRET, fixture_body, post_callback

pytestmark = pytest.mark.django_db


def _receive(service: MessagingService, n: int) -> None:
    post_callback(
        Client(), service.pk, fixture_body("message_inbound", message__id=f"01HMSG{n:04d}")
    )


def test_index_groups_models_in_sections(admin_client_: Client) -> None:
    html = admin_client_.get("/admin/").content.decode()
    assert "System Configurator" in html
    assert html.index("System Management") < html.index("Messaging services")
    assert html.index("Conversations") < html.index("Callbacks received")


def test_callback_changelist_runs_a_fixed_number_of_queries(
    admin_client_: Client, service: MessagingService, django_assert_max_num_queries: Any
) -> None:
    for n in range(20):
        _receive(service, n)
    with django_assert_max_num_queries(12):
        response = admin_client_.get("/admin/messaging/callback/")
    assert response.status_code == 200
    assert response.content.decode().count("01HMSG00") == 20


def test_messaging_service_changelist_runs_a_fixed_number_of_queries(
    admin_client_: Client, django_assert_max_num_queries: Any
) -> None:
    for n in range(8):
        make_service(app_id=f"01APP{n}")
    with django_assert_max_num_queries(10):
        response = admin_client_.get("/admin/messaging/messagingservice/")
    assert response.status_code == 200
    assert WEBHOOK_SECRET not in response.content.decode()


def test_callback_page_shows_pretty_json(admin_client_: Client, service: MessagingService) -> None:
    _receive(service, 1)
    callbacks_process_pending()
    callback = Callback.objects.get()
    html = admin_client_.get(f"/admin/messaging/callback/{callback.pk}/change/").content.decode()
    assert "&quot;text_message&quot;: {" in html
    assert "Hello, I need help with my order" in html


def test_search_by_exact_message_id(admin_client_: Client, service: MessagingService) -> None:
    _receive(service, 1)
    _receive(service, 2)
    html = admin_client_.get("/admin/messaging/callback/", {"q": "01HMSG0002"}).content.decode()
    assert "01HMSG0002" in html and "01HMSG0001" not in html


def test_process_again_action_requeues_failed_callbacks(
    admin_client_: Client, service: MessagingService
) -> None:
    post_callback(Client(), service.pk, fixture_body("message_inbound", message__id=""))
    callbacks_process_pending()
    callback = Callback.objects.get()
    assert callback.status == "failed"
    response = admin_client_.post(
        "/admin/messaging/callback/",
        {"action": "process_again", "_selected_action": [callback.pk]},
        follow=True,
    )
    assert "1 callback(s) queued for processing." in response.content.decode()
    callback.refresh_from_db()
    assert callback.status == "pending"


def test_admin_form_reports_block_errors_and_keeps_secrets_out(admin_client_: Client) -> None:
    data = {
        "name": "Broken",
        "type": "sinchconversation",
        "service_connection": "https://eu.conversation.api.sinch.com/v1/projects/p/messages:send",
        "authentications-TOTAL_FORMS": "1",
        "authentications-INITIAL_FORMS": "0",
        "authentications-MIN_NUM_FORMS": "0",
        "authentications-MAX_NUM_FORMS": "1000",
        "authentications-0-direction": "outbound",
        "authentications-0-authentication_id": "key@01APPX",
        "authentications-0-secret": "typed-secret-123",
    }
    response = admin_client_.post("/admin/messaging/messagingservice/add/", data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Add the inbound entry" in html
    assert "typed-secret-123" not in html
    assert not MessagingService.objects.exists()


def _change_form(service: MessagingService, **changes: str) -> dict[str, Any]:
    """The service's change page as submitted with every secret box left empty."""
    data: dict[str, Any] = {
        "name": service.name,
        "type": service.type,
        "service_connection": service.service_connection,
        "auth_method": service.auth_method,
        "authentications-TOTAL_FORMS": "2",
        "authentications-INITIAL_FORMS": "2",
        "authentications-MIN_NUM_FORMS": "0",
        "authentications-MAX_NUM_FORMS": "1000",
    }
    entries = sorted(service.authentications.all(), key=lambda a: a.direction != "outbound")
    for index, entry in enumerate(entries):
        data[f"authentications-{index}-id"] = str(entry.pk)
        data[f"authentications-{index}-service"] = str(service.pk)
        data[f"authentications-{index}-direction"] = entry.direction
        data[f"authentications-{index}-authentication_id"] = entry.authentication_id
        data[f"authentications-{index}-secret"] = ""
        data[f"authentications-{index}-triggers"] = entry.triggers
    data.update(changes)
    return data


def _stored(service: MessagingService) -> dict[str, str]:
    return {a.authentication_id: a.secret.reveal() for a in service.authentications.all()}


def test_saving_with_empty_secret_boxes_keeps_the_secrets(admin_client_: Client) -> None:
    service = make_service(app_id="01APPKEEP")
    before = _stored(service)
    response = admin_client_.post(
        f"/admin/messaging/messagingservice/{service.pk}/change/",
        _change_form(service, name="Renamed"),
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.name == "Renamed"
    assert _stored(service) == before


def test_a_new_key_id_without_its_secret_is_an_error_on_its_row(admin_client_: Client) -> None:
    service = make_service(app_id="01APPKEY")
    before = _stored(service)
    [old_key] = [k for k in before if k != "webhook"]
    response = admin_client_.post(
        f"/admin/messaging/messagingservice/{service.pk}/change/",
        _change_form(
            service, name="Renamed", **{"authentications-0-authentication_id": "NEWKEY@01APPKEY"}
        ),
    )

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.forms[0].errors == {
        "secret": [
            f"Enter the secret for the new key ID: the stored secret belongs to “{old_key}”."
        ]
    }
    service.refresh_from_db()
    assert service.name != "Renamed"
    assert _stored(service) == before


def test_a_new_key_id_with_its_secret_replaces_the_old_key(admin_client_: Client) -> None:
    service = make_service(app_id="01APPROT")
    response = admin_client_.post(
        f"/admin/messaging/messagingservice/{service.pk}/change/",
        _change_form(
            service,
            **{
                "authentications-0-authentication_id": "NEWKEY@01APPROT",
                "authentications-0-secret": "new-access-secret",
            },
        ),
    )

    assert response.status_code == 302
    stored = _stored(service)
    assert stored["NEWKEY@01APPROT"] == "new-access-secret"
    assert set(stored) == {"NEWKEY@01APPROT", "webhook"}


def test_a_callback_page_is_read_only(admin_client_: Client, service: MessagingService) -> None:
    """A received callback is a record: no Save buttons, and a POST to its page changes nothing
    (while the list's "process again" still needs and finds the change permission)."""
    _receive(service, 1)
    callback = Callback.objects.get()
    url = f"/admin/messaging/callback/{callback.pk}/change/"

    html = admin_client_.get(url).content.decode()
    posted = admin_client_.post(url, {"status": "processed"})

    for button in ('name="_save"', 'name="_continue"', 'name="_addanother"'):
        assert button not in html
    assert "<title>MESSAGE_INBOUND #" in html
    assert posted.status_code == 403
    callback.refresh_from_db()
    assert callback.status == "pending"


def test_the_callback_list_shows_the_reason_under_the_status(
    admin_client_: Client, service: MessagingService
) -> None:
    post_callback(Client(), service.pk, fixture_body("message_inbound", message__id=""))
    callbacks_process_pending()

    html = admin_client_.get("/admin/messaging/callback/").content.decode()

    reason = Callback.objects.get().status_reason[:80]
    assert reason
    assert f'Failed<div class="status-reason">{reason}' in html.replace("&#x27;", "'")


def test_the_callback_list_marks_what_the_previous_secret_verified(
    admin_client_: Client, service: MessagingService
) -> None:
    _receive(service, 1)
    _receive(service, 2)
    Callback.objects.filter(message_id="01HMSG0002").update(verified_with="previous")

    html = admin_client_.get("/admin/messaging/callback/").content.decode()

    assert html.count('<div class="status-reason">verified with the previous secret</div>') == 1
