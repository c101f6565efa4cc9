"""Fixtures shared by the whole suite."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from messaging.models import MessagingService
from messaging.tasks import _wake_slots
from messaging.webhooks.ingest import webhook_secrets
from tests.factories import make_service


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Any:
    """Per-process caches must not carry over between tests."""
    webhook_secrets.clear()
    _wake_slots.reset()
    yield
    webhook_secrets.clear()
    _wake_slots.reset()


@pytest.fixture
def service(db: None) -> MessagingService:
    return make_service(app_id="01E4556565565ERKYO")


@pytest.fixture
def staff_user(db: None) -> User:
    return User.objects.create_superuser("admin", "admin@example.com", "admin-pass-123")


@pytest.fixture
def api(staff_user: User) -> APIClient:
    """An API client authenticated with a DRF token, as automation would be."""
    token = Token.objects.create(user=staff_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
