"""A messaging service's enabled state: what a disabled one refuses, and what enabling needs."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from messaging import services
from messaging.models import MessagingService, ServiceAuthentication
from tests.factories import inbound, outbound
from tests.sinch import fixture_body, post_callback

pytestmark = pytest.mark.django_db


def _imported_without_secrets() -> MessagingService:
    """As an import without a secrets file stores it."""
    entries = [outbound("01E4556565565ERKYO", secret=None), inbound(secret=None)]  # type: ignore[arg-type]
    return services.messaging_service_create(
        name="Imported",
        service_connection="https://eu.conversation.api.sinch.com/v1/projects/p1/messages:send",
        type="sinchconversation",
        authentications=entries,
        enabled=False,
        missing_secret_allowed=True,
    )


def test_a_service_cannot_be_created_enabled_without_its_secrets() -> None:
    entries = [outbound("01E4556565565ERKYO", secret=None), inbound()]  # type: ignore[arg-type]

    with pytest.raises(ValidationError) as refused:
        services.messaging_service_create(
            name="Imported",
            service_connection="https://eu.conversation.api.sinch.com/v1/projects/p1/messages:send",
            type="sinchconversation",
            authentications=entries,
            missing_secret_allowed=True,
        )

    assert refused.value.message_dict["enabled"] == [
        "Enter the secret of 3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11@01E4556565565ERKYO, then "
        "enable the service."
    ]
    assert not MessagingService.objects.exists()


def test_enabling_needs_every_secret_then_succeeds() -> None:
    service = _imported_without_secrets()
    with pytest.raises(ValidationError):
        services.messaging_service_update(service=service, enabled=True)
    service.refresh_from_db()
    assert not service.enabled

    services.messaging_service_update(
        service=service,
        enabled=True,
        authentications=[outbound("01E4556565565ERKYO"), inbound()],
    )

    assert MessagingService.objects.get(pk=service.pk).enabled
    assert not ServiceAuthentication.objects.filter(secret__isnull=True).exists()


def test_a_disabled_service_refuses_callbacks_with_403(
    client: Client, service: MessagingService, django_capture_on_commit_callbacks: Any
) -> None:
    assert post_callback(client, service.pk, fixture_body("MESSAGE_INBOUND")).status_code == 200
    # Committed: this process forgets the cached secrets at once (others within their ttl).
    with django_capture_on_commit_callbacks(execute=True):
        services.messaging_service_update(service=service, enabled=False)

    response = post_callback(client, service.pk, fixture_body("MESSAGE_INBOUND"))

    assert response.status_code == 403
    assert response.json() == {"error": "messaging service disabled"}


def test_admin_asks_for_the_missing_secrets_and_shows_the_state(admin_client_: Client) -> None:
    service = _imported_without_secrets()

    listing = admin_client_.get("/admin/messaging/messagingservice/")
    page = admin_client_.get(f"/admin/messaging/messagingservice/{service.pk}/change/")

    assert listing.status_code == 200 and "field-enabled" in listing.content.decode()
    assert 'name="enabled"' in page.content.decode()
