"""A request beyond Django's upload bounds: the admin page again with the reason, the API 413.

DATA_UPLOAD_MAX_MEMORY_SIZE and DATA_UPLOAD_MAX_NUMBER_FIELDS are lowered here so that the
bodies stay small; the behaviour is the one of the defaults (2.5 MiB, 1,000 fields).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from typing import Any

import pytest
import requests
from django.test import Client
from rest_framework.test import APIClient

from integrations.models import Integration
from queues.models import Queue
from tests.factories import make_contact, make_integration, make_queue
from tests.tcpproxy import free_port
from tests.workers import start_gunicorn, wait_until

pytestmark = pytest.mark.django_db

LIMIT = 64 * 1024
ADD = "/admin/integrations/integration/add/?channel_type=chat"


@pytest.fixture
def small_limits(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50


def _integration_form(configuration: str) -> dict[str, str]:
    return {
        "channel_type": "chat",
        "name": "CRM lookup",
        "description": "",
        "endpoint_url": "https://crm.example.com/events",
        "ordinal": "1",
        "direction": "inbound",
        "events": "queued",
        "direct_chats": "on",
        "configuration": configuration,
        "authentications-TOTAL_FORMS": "0",
        "authentications-INITIAL_FORMS": "0",
        "authentications-MIN_NUM_FORMS": "0",
        "authentications-MAX_NUM_FORMS": "1000",
    }


def _huge_configuration() -> str:
    return json.dumps({"request": {"method": "POST", "body": {"pasted": "x" * (LIMIT * 2)}}})


@pytest.mark.usefixtures("small_limits")
def test_an_admin_form_over_the_size_bound_comes_back_with_the_reason(
    admin_client_: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="configurator.request_limits"):
        response = admin_client_.post(ADD, _integration_form(_huge_configuration()), follow=True)

    assert response.redirect_chain == [(ADD, 303)]
    html = response.content.decode()
    assert 'name="configuration"' in html  # the add page, not Django's 400 page
    [message] = [str(m) for m in response.context["messages"]]
    assert message == (
        "Nothing was saved: the form sent more than the 64 KiB this server takes in one request "
        "(DATA_UPLOAD_MAX_MEMORY_SIZE). Something pasted is far too large: an integration's JSON "
        "configuration may have at most 64 KiB, a description 2,000 characters. Shorten it and "
        "send the form again."
    )
    assert not Integration.objects.exists()
    [record] = caplog.records
    assert record.getMessage().startswith(
        "POST /admin/integrations/integration/add/ refused: Request body exceeded "
        "settings.DATA_UPLOAD_MAX_MEMORY_SIZE."
    )


@pytest.mark.usefixtures("small_limits")
def test_a_change_page_over_the_bound_comes_back_unchanged(admin_client_: Client) -> None:
    integration = make_integration("CRM lookup", direct_chats=True)
    change = f"/admin/integrations/integration/{integration.pk}/change/"

    response = admin_client_.post(change, _integration_form(_huge_configuration()), follow=True)

    assert response.redirect_chain == [(change, 303)]
    assert "Nothing was saved" in response.content.decode()
    assert Integration.objects.get().configuration == integration.configuration


def test_a_form_posting_to_a_url_of_its_own_comes_back_to_the_page_it_was_on(
    admin_client_: Client,
) -> None:
    """A contact's reply posts to .../reply/, which answers no GET: the page is the contact's."""
    contact = make_contact(make_queue("Support", ["01E4556565565ERKYO@whatsapp"]))
    page = f"/admin/conversations/contact/{contact.pk}/change/"

    response = admin_client_.post(
        f"/admin/conversations/contact/{contact.pk}/reply/",
        {"text": "x" * 3_000_000},
        HTTP_REFERER=f"http://testserver{page}",
        follow=True,
    )

    assert response.redirect_chain == [(f"http://testserver{page}", 303)]
    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    # Another site's address is not followed.
    elsewhere = admin_client_.post(
        f"/admin/conversations/contact/{contact.pk}/reply/",
        {"text": "x" * 3_000_000},
        HTTP_REFERER="https://elsewhere.example/",
    )
    assert elsewhere["Location"] == f"/admin/conversations/contact/{contact.pk}/reply/"


@pytest.mark.usefixtures("small_limits")
def test_an_admin_form_with_too_many_fields_comes_back_with_the_reason(
    admin_client_: Client,
) -> None:
    fields = {f"extra-{n}": "1" for n in range(60)}
    response = admin_client_.post(
        "/admin/queues/queue/add/", {"name": "Sales", **fields}, follow=True
    )

    assert response.redirect_chain == [("/admin/queues/queue/add/", 303)]
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith(
        "Nothing was saved: the form sent more than 50 fields, the most this server takes in one "
        "request (DATA_UPLOAD_MAX_NUMBER_FIELDS)."
    )
    assert not Queue.objects.exists()


@pytest.mark.usefixtures("small_limits")
def test_a_form_within_the_bounds_is_handled_as_before(admin_client_: Client) -> None:
    configuration = json.dumps({"request": {"method": "POST"}})
    response = admin_client_.post(ADD, _integration_form(configuration), follow=True)
    assert response.status_code == 200
    assert Integration.objects.filter(name="CRM lookup").exists()


@pytest.mark.usefixtures("small_limits")
def test_the_api_answers_413_for_a_body_over_the_bound(api: APIClient) -> None:
    body = json.dumps({"name": "Sales", "description": "d" * (LIMIT * 2)})
    response = api.post("/api/v1/queues/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is larger than the 64 KiB this server takes "
        "(DATA_UPLOAD_MAX_MEMORY_SIZE)."
    }
    assert not Queue.objects.exists()


@pytest.mark.usefixtures("small_limits")
def test_the_api_answers_413_for_too_many_fields(api: APIClient) -> None:
    fields = {f"extra-{n}": "1" for n in range(60)}
    response = api.post("/api/v1/queues/", {"name": "Sales", **fields}, format="multipart")

    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request has more than 50 fields, the most this server takes "
        "(DATA_UPLOAD_MAX_NUMBER_FIELDS)."
    }


@pytest.mark.django_db(transaction=True)
def test_a_real_server_answers_an_oversized_admin_form_with_the_page() -> None:
    """gunicorn with the default bound: the redirect reaches the browser, no reset connection
    (the rest of the body is read before the answer)."""
    port = free_port()
    server = start_gunicorn(port)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(server.stdout or []), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/admin/login/", timeout=30).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(up, 60, "gunicorn answering")
        # Three megabytes pasted into the login form: more than the default 2.5 MiB.
        answer = requests.post(
            f"{base}/admin/login/",
            data={"username": "admin", "password": "x" * 3_000_000},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 303, "".join(output)
        assert answer.headers["Location"] == "/admin/login/"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        reader.join(timeout=10)
