"""Guessing passwords and tokens: failures are logged and, past the limits, refused."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from configurator.authentication import client_ip
from configurator.tokens import api_token_create

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def low_limits(settings: Any) -> Any:
    settings.AXES_FAILURE_LIMIT = 3
    settings.API_AUTH_FAILURE_RATE = "3/minute"
    cache.clear()
    yield settings
    cache.clear()


def _login(client: Client, password: str) -> Any:
    return client.post(LOGIN, {"username": "admin", "password": password})


def test_admin_login_is_locked_after_repeated_failures_and_each_is_logged(
    staff_user: User, low_limits: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client()
    with caplog.at_level(logging.INFO):
        answers = [_login(client, f"wrong-{n}") for n in range(3)]
        locked = _login(client, "admin-pass-123")  # the right password, too late

    assert [a.status_code for a in answers] == [200, 200, 429]  # the third failure locks
    assert locked.status_code == 429
    failures = [r for r in caplog.records if "login failure by" in r.getMessage()]
    assert len(failures) == 4  # the attempt while locked out is one more
    assert all(r.levelno == logging.WARNING for r in failures)
    assert all("127.0.0.1" in r.getMessage() and "admin" in r.getMessage() for r in failures)
    assert not any("wrong-" in r.getMessage() for r in caplog.records)
    other_address = Client(REMOTE_ADDR="192.0.2.10")
    assert _login(other_address, "admin-pass-123").status_code == 302  # logged in


def test_successful_login_resets_the_count(staff_user: User, low_limits: Any) -> None:
    client = Client()
    _login(client, "wrong-1")
    _login(client, "wrong-2")
    assert _login(client, "admin-pass-123").status_code == 302
    client.logout()

    _login(client, "wrong-3")
    assert _login(client, "admin-pass-123").status_code == 302


def test_api_token_guesses_are_limited_per_client_ip_and_logged_without_the_token(
    staff_user: User, low_limits: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, key = api_token_create(user=staff_user)
    guesses = [secrets.token_hex(32) for _ in range(3)]
    client = APIClient()
    with caplog.at_level(logging.WARNING, logger="configurator.security"):
        answers = [
            client.get("/api/v1/queues/", HTTP_AUTHORIZATION=f"Token {guess}") for guess in guesses
        ]
        refused = client.get("/api/v1/queues/", HTTP_AUTHORIZATION=f"Token {key}")

    assert [a.status_code for a in answers] == [401, 401, 401]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    messages = [r.getMessage() for r in caplog.records if r.name == "configurator.security"]
    assert len(messages) == 4
    assert all("127.0.0.1" in m for m in messages)
    assert not any(guess in m or guess[:15] in m for m in messages for guess in [*guesses, key])
    elsewhere = APIClient(REMOTE_ADDR="192.0.2.10")
    assert elsewhere.get("/api/v1/queues/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_the_session_is_not_counted_as_a_token_failure(staff_user: User, low_limits: Any) -> None:
    client = APIClient()
    client.force_login(staff_user)

    assert all(client.get("/api/v1/queues/").status_code == 200 for _ in range(5))


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Token a b",
        "Token " + "é" * 10,
        "Token \x00\x01",
        "Token " + "a" * 5000,
        "Token {}",
    ],
)
def test_malformed_token_headers_answer_401(staff_user: User, header: str) -> None:
    answer = APIClient().get("/api/v1/queues/", HTTP_AUTHORIZATION=header)

    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.7", "10.0.0.2"),
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the client's own entry is not believed
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (1, "", "10.0.0.2"),
        # Fewer entries than proxies: the request did not pass them all, nothing of it is believed.
        (2, "198.51.100.7", "10.0.0.2"),
    ],
)
def test_client_ip_believes_only_the_trusted_proxies(
    settings: Any, proxies: int, forwarded: str, expected: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected
