"""Fixtures shared by the whole suite."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from configurator.tokens import api_token_create
from conversations.models import Contact, Message
from integrations.transport import integration_tokens
from messaging.models import MessagingService
from messaging.wake import _wake_slots
from messaging.webhooks.secrets import webhook_secrets
from queues.models import Queue
from tests.factories import make_contact, make_outbound_message, make_queue, make_service
from tests.fakesinch import fake_sinch  # noqa: F401 (a fixture for every test module)
from tests.httpsink import https_sink, sink_ca  # noqa: F401 (fixtures for every test module)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked `postgres` needs PostgreSQL (DATABASE_URL): on SQLite it is skipped."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if item.get_closest_marker("postgres") and engine != "django.db.backends.postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Any:
    """Per-process caches must not carry over between tests."""
    webhook_secrets.clear()
    _wake_slots.reset()
    integration_tokens.clear()
    yield
    webhook_secrets.clear()
    _wake_slots.reset()
    integration_tokens.clear()


@pytest.fixture
def service(db: None) -> MessagingService:
    return make_service(app_id="01E4556565565ERKYO")


@pytest.fixture
def queue(service: MessagingService) -> Queue:
    """The queue the fixtures' WhatsApp messages of app 01E4556565565ERKYO route to."""
    return make_queue("Support", ["01E4556565565ERKYO@whatsapp"])


@pytest.fixture
def sent_message(queue: Queue) -> Message:
    """The outbound message the delivery-report fixtures report on."""
    contact: Contact = make_contact(queue, conversation_id="01FJA8B4A7BM43YGWSG9GBV000")
    return make_outbound_message(contact, "01HMSGOUTBOUND000000000001")


@pytest.fixture
def staff_user(db: None) -> User:
    return User.objects.create_superuser("admin", "admin@example.com", "admin-pass-123")


@pytest.fixture
def admin_client_(staff_user: User) -> Client:
    """A browser session of the superuser, for admin pages."""
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def api(staff_user: User) -> APIClient:
    """An API client authenticated with a DRF token, as automation would be."""
    _, key = api_token_create(user=staff_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client
