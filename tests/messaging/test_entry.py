"""The lean WSGI entry: which requests it answers, which it hands to Django, and what it keeps of
Django's stack (host check, security headers, connection upkeep, 500s without a traceback)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
from django.db import connection

from messaging.models import Callback, MessagingService
from messaging.webhooks import ingest
from messaging.webhooks.entry import with_webhook_entry
from tests.sinch import WEBHOOK_SECRET, as_meta, fixture_body, post_callback, signed_headers
from tests.wsgiclient import WSGIClient

pytestmark = pytest.mark.django_db


class DjangoStandIn:
    """A stand-in for Django's application that records what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        self.paths.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        start_response("418 I'm a Teapot", [("Content-Type", "text/plain")])
        return [b"django"]


@pytest.fixture
def django_app() -> DjangoStandIn:
    return DjangoStandIn()


@pytest.fixture
def entry(django_app: DjangoStandIn) -> WSGIClient:
    return WSGIClient(with_webhook_entry(django_app))


def test_signed_callback_is_answered_without_reaching_django(
    entry: WSGIClient, django_app: DjangoStandIn, service: MessagingService
) -> None:
    response = post_callback(entry, service.pk, fixture_body("message_inbound"))
    assert response.status_code == 200
    assert response.json() == {"status": "accepted", "callback": Callback.objects.get().pk}
    assert django_app.paths == []


def test_refusals_are_answered_without_reaching_django(
    entry: WSGIClient, django_app: DjangoStandIn, service: MessagingService
) -> None:
    body = fixture_body("message_inbound")
    assert (
        post_callback(entry, service.pk, body, signed_headers(body, secret="x")).status_code == 401
    )
    assert post_callback(entry, service.pk + 1000, body).status_code == 404
    assert post_callback(entry, service.pk, b"not json", None).status_code == 400
    assert django_app.paths == []
    assert not Callback.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "extra"),
    [
        ("GET", "/webhooks/sinch/{id}/", {}),
        ("PUT", "/webhooks/sinch/{id}/", {}),
        ("POST", "/webhooks/sinch/{id}", {}),
        ("POST", "/webhooks/sinch/x{id}/", {}),
        ("POST", "/webhooks/sinch/{id}/extra/", {}),
        ("POST", "/webhooks/sinch/\u0661/", {}),  # an Arabic-Indic digit is not [0-9]
        ("POST", "/webhooks/sinch/{id}/", {"HTTP_HOST": "evil.example"}),
        ("POST", "/webhooks/sinch/{id}/", {"CONTENT_LENGTH": ""}),
        ("POST", "/webhooks/sinch/{id}/", {"CONTENT_LENGTH": "\u00b2"}),
        ("POST", "/admin/login/", {}),
    ],
)
def test_everything_else_goes_to_django(
    entry: WSGIClient,
    django_app: DjangoStandIn,
    service: MessagingService,
    method: str,
    path: str,
    extra: dict[str, str],
) -> None:
    path = path.format(id=service.pk)
    environ = {"CONTENT_LENGTH": "0", **extra}
    response = entry.request(method, path, b"", environ)
    assert response.content == b"django"
    assert django_app.paths == [f"{method} {path}"]


def test_production_application_refuses_a_host_not_allowed(service: MessagingService) -> None:
    body = fixture_body("message_inbound")
    response = post_callback(WSGIClient(), service.pk, body, {**signed_headers(body)})
    assert response.status_code == 200
    other = fixture_body("message_inbound", message__id="01HMSGINBOUND0000000000002")
    headers = {**signed_headers(other), "host": "evil.example"}
    assert post_callback(WSGIClient(), service.pk, other, headers).status_code == 400
    assert Callback.objects.count() == 1


def test_production_application_serves_django_views_too() -> None:
    response = WSGIClient().get("/admin/login/")
    assert response.status_code == 200
    assert b"System Configurator" in response.content


def test_answers_carry_the_security_headers(entry: WSGIClient, service: MessagingService) -> None:
    response = post_callback(entry, service.pk, fixture_body("message_inbound"))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Content-Type"] == "application/json"
    assert int(response["Content-Length"]) == len(response.content)
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_only_over_https(entry: WSGIClient, service: MessagingService, settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    body = fixture_body("message_inbound")
    plain = post_callback(entry, service.pk, body)
    assert "Strict-Transport-Security" not in plain.headers
    other = fixture_body("message_inbound", message__id="01HMSGINBOUND0000000000002")
    secure = entry.post(
        f"/webhooks/sinch/{service.pk}/",
        other,
        "application/json",
        **{"wsgi.url_scheme": "https"},
        **as_meta(signed_headers(other)),
    )
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=600; includeSubDomains"


def test_unexpected_error_is_a_logged_500_without_details(
    entry: WSGIClient,
    service: MessagingService,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug with " + WEBHOOK_SECRET)

    monkeypatch.setattr(ingest, "verify_callback", broken)
    response = post_callback(entry, service.pk, fixture_body("message_inbound"))
    assert response.status_code == 500
    assert response.json() == {"error": "internal error"}
    assert WEBHOOK_SECRET not in response.content.decode()
    assert "sinch webhook failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_connection_past_its_age_is_replaced(service: MessagingService) -> None:
    """As close_old_connections does for Django's requests (CONN_MAX_AGE)."""
    connection.ensure_connection()
    old = connection.connection
    connection.close_at = time.monotonic() - 1
    response = post_callback(WSGIClient(), service.pk, fixture_body("message_inbound"))
    assert response.status_code == 200
    assert connection.connection is not old
    assert Callback.objects.count() == 1


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # wsgiref's names
        """Keep the test output clean."""


@pytest.mark.django_db(transaction=True)
def test_callback_over_a_real_socket(service: MessagingService) -> None:
    """The body as a WSGI server hands it over (a socket file), not a BytesIO."""
    from configurator.wsgi import application

    server: WSGIServer = make_server("127.0.0.1", 0, application, handler_class=QuietHandler)
    body = fixture_body("message_inbound")
    answers: list[requests.Response] = []
    url = f"http://127.0.0.1:{server.server_port}/webhooks/sinch/{service.pk}/"

    def send() -> None:
        answers.append(requests.post(url, data=body, headers=signed_headers(body), timeout=10))

    # The request is served in this thread, on this test's database connection.
    sender = threading.Thread(target=send)
    sender.start()
    try:
        server.handle_request()
    finally:
        sender.join(10)
        server.server_close()
    assert answers[0].status_code == 200
    assert bytes(Callback.objects.get().raw_body) == body


class BrokenInput:
    """A request body whose sender went away."""

    def read(self, size: int = -1) -> bytes:
        raise OSError("connection reset by peer")


def test_body_that_cannot_be_read_is_400(entry: WSGIClient, service: MessagingService) -> None:
    body = fixture_body("message_inbound")
    environ = {
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": BrokenInput(),
        **as_meta(signed_headers(body)),
    }
    response = entry.request("POST", f"/webhooks/sinch/{service.pk}/", b"", environ)
    assert response.status_code == 400
    assert response.json() == {"error": "body could not be read"}
    assert not Callback.objects.exists()
