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
