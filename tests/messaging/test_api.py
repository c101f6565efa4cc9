"""/api/v1/messaging-services/ and /api/v1/callbacks/ as automation uses them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from configurator.secrets import decrypt
from configurator.tokens import api_token_create
from messaging.models import Callback, MessagingService, ServiceAuthentication
from messaging.webhooks.processing import callbacks_process_pending
from tests.factories import make_service
from tests.sinch import fixture_body, post_callback

pytestmark = pytest.mark.django_db

URL = "/api/v1/messaging-services/"
CONNECTION = (
    "https://eu.conversation.api.sinch.com/v1/projects/"
    "e2df3a34-a71b-4448-9db5-a8d2baad28e4/messages:send"
)


def payload(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Sinch EU",
        "type": "sinchconversation",
        "service_connection": CONNECTION,
        "authentications": [
            {
                "direction": "outbound",
                "authentication_id": "3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11@01e4556565565erkyo",
                "secret": "access-key-secret-1",
            },
            {
                "direction": "inbound",
                "authentication_id": "webhook",
                "secret": "webhook-secret-1",
                "triggers": ["MESSAGE_INBOUND", "MESSAGE_DELIVERY"],
            },
        ],
    }
    body.update(changes)
    return body


def test_creates_service_with_both_kinds_of_authentication(api: APIClient) -> None:
    response = api.post(URL, payload(), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["region"] == "eu"
    assert data["project_id"] == "e2df3a34-a71b-4448-9db5-a8d2baad28e4"
    assert data["webhook_url"] == f"http://testserver/webhooks/sinch/{data['id']}/"
    outbound, inbound = data["authentications"]
    assert outbound["app_id"] == "01E4556565565ERKYO"
    assert outbound["authentication_id"] == (
        "3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11@01E4556565565ERKYO"
    )
    assert inbound["triggers"] == ["MESSAGE_DELIVERY", "MESSAGE_INBOUND"]
    assert all(a["has_secret"] for a in data["authentications"])
    assert "secret" not in response.content.decode().replace('"has_secret"', "")


def test_secrets_are_encrypted_in_the_database(api: APIClient) -> None:
    api.post(URL, payload(), format="json")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM messaging_serviceauthentication")
        stored = [row[0] for row in cursor.fetchall()]
    assert len(stored) == 2
    assert not any("secret-1" in token for token in stored)
    assert sorted(decrypt(token) for token in stored) == ["access-key-secret-1", "webhook-secret-1"]


def test_secrets_never_appear_in_responses(api: APIClient) -> None:
    created = api.post(URL, payload(), format="json").json()
    for response in (api.get(URL), api.get(f"{URL}{created['id']}/")):
        text = response.content.decode()
        assert "access-key-secret-1" not in text
        assert "webhook-secret-1" not in text


def test_update_without_secret_keeps_the_stored_one(api: APIClient) -> None:
    created = api.post(URL, payload(), format="json").json()
    update = payload(name="Sinch EU main")
    for entry in update["authentications"]:
        del entry["secret"]
    response = api.put(f"{URL}{created['id']}/", update, format="json")
    assert response.status_code == 200, response.json()
    secrets = {a.direction: a.secret.reveal() for a in ServiceAuthentication.objects.all()}
    assert secrets == {"outbound": "access-key-secret-1", "inbound": "webhook-secret-1"}


def test_update_with_secret_replaces_it(api: APIClient) -> None:
    created = api.post(URL, payload(), format="json").json()
    update = payload()
    update["authentications"][1]["secret"] = "webhook-secret-2"
    del update["authentications"][0]["secret"]
    assert api.put(f"{URL}{created['id']}/", update, format="json").status_code == 200
    inbound = ServiceAuthentication.objects.get(direction="inbound")
    assert inbound.secret.reveal() == "webhook-secret-2"


def test_patch_name_only_keeps_authentications(api: APIClient) -> None:
    created = api.post(URL, payload(), format="json").json()
    response = api.patch(f"{URL}{created['id']}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 200
    assert len(response.json()["authentications"]) == 2


def test_new_entry_without_secret_is_refused_at_its_path(api: APIClient) -> None:
    body = payload()
    del body["authentications"][1]["secret"]
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "authentications": [{}, {"secret": ["Enter the secret: a new entry has none stored yet."]}]
    }


def test_bad_outbound_authentication_id_names_the_entry(api: APIClient) -> None:
    body = payload()
    body["authentications"].append(
        {"direction": "outbound", "authentication_id": "no-at-sign", "secret": "x"}
    )
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    errors = response.json()["authentications"]
    assert errors[0] == {} and errors[1] == {}
    assert errors[2]["authentication_id"] == [
        "Enter KEYID@APPID: the access key ID, “@”, and the Conversation API app ID."
    ]


def test_inbound_entry_must_be_called_webhook_and_subscribe_to_inbound_messages(
    api: APIClient,
) -> None:
    body = payload()
    body["authentications"][1].update(
        authentication_id="hook", triggers=["MESSAGE_DELIVERY", "NOPE"]
    )
    errors = api.post(URL, body, format="json").json()["authentications"][1]
    assert errors["authentication_id"] == ["The inbound entry's authentication ID is “webhook”."]
    assert errors["triggers"] == [
        "“NOPE” is not a Conversation API trigger.",
        "Choose MESSAGE_INBOUND: without it no customer message reaches a queue.",
    ]


def test_exactly_one_inbound_entry(api: APIClient) -> None:
    none = payload()
    none["authentications"].pop()
    response = api.post(URL, none, format="json")
    assert response.status_code == 400
    assert "Add the inbound entry" in response.json()["authentications"]["non_field_errors"][0]
    two = payload()
    two["authentications"].append(dict(two["authentications"][1]))
    response = api.post(URL, two, format="json")
    assert response.json()["authentications"]["non_field_errors"] == [
        "A messaging service has exactly one inbound (webhook) entry; found 2."
    ]


def test_an_app_belongs_to_one_messaging_service(api: APIClient) -> None:
    make_service(name="Existing", app_id="01E4556565565ERKYO")
    response = api.post(URL, payload(), format="json")
    assert response.status_code == 400
    assert response.json()["authentications"][0]["authentication_id"] == [
        "App 01E4556565565ERKYO already belongs to messaging service “Existing”: "
        "an app belongs to exactly one messaging service."
    ]


def test_same_app_twice_in_one_service_is_refused(api: APIClient) -> None:
    body = payload()
    body["authentications"].insert(
        1,
        {
            "direction": "outbound",
            "authentication_id": "other-key@01E4556565565ERKYO",
            "secret": "x",
        },
    )
    errors = api.post(URL, body, format="json").json()["authentications"]
    assert "already in entry 1" in errors[1]["authentication_id"][0]


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("https://eu.conversation.api.sinch.com/v1beta/projects/p/messages:send", "retired"),
        ("https://na.conversation.api.sinch.com/v1/projects/p/messages:send", "eu, us or br"),
        ("http://eu.conversation.api.sinch.com/v1/projects/p/messages:send", "Enter the"),
        ("https://eu.conversation.api.sinch.com/v1/projects/p/messages", "Enter the"),
    ],
)
def test_service_connection_is_validated(api: APIClient, url: str, hint: str) -> None:
    response = api.post(URL, payload(service_connection=url), format="json")
    assert response.status_code == 400
    assert hint in response.json()["service_connection"][0]


def test_name_is_unique(api: APIClient) -> None:
    make_service(name="Sinch EU", app_id="01OTHER")
    response = api.post(URL, payload(), format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_list_runs_a_fixed_number_of_queries(api: APIClient) -> None:
    for n in range(5):
        make_service(app_id=f"01APP{n}")
    with CaptureQueriesContext(connection) as queries:
        response = api.get(URL)
    assert response.status_code == 200
    assert response.json()["count"] == 5
    assert len(queries) <= 5


def test_requires_a_token(db: None) -> None:
    assert APIClient().get(URL).status_code == 401


def test_model_permissions_are_enforced(db: None) -> None:
    user = User.objects.create_user("viewer", password="pw-12345678", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)[1]}")
    assert client.get(URL).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_messagingservice"))
    user = User.objects.get(pk=user.pk)
    assert client.get(URL).status_code == 200
    assert client.post(URL, payload(), format="json").status_code == 403


def test_non_staff_user_is_refused(db: None) -> None:
    user = User.objects.create_user("customer", password="pw-12345678")
    user.user_permissions.add(Permission.objects.get(codename="view_messagingservice"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)[1]}")
    assert client.get(URL).status_code == 403


def _receive(service: MessagingService, fixture: str, **changes: Any) -> None:
    post_callback(Client(), service.pk, fixture_body(fixture, **changes))


@pytest.mark.usefixtures("sent_message")
def test_callbacks_list_filters_and_shows_payload(
    api: APIClient, service: MessagingService
) -> None:
    _receive(service, "message_inbound")
    _receive(service, "message_delivery")
    callbacks_process_pending()
    response = api.get("/api/v1/callbacks/", {"trigger": "MESSAGE_DELIVERY"})
    assert response.status_code == 200
    [callback] = response.json()["results"]
    assert callback["trigger"] == "MESSAGE_DELIVERY"
    assert callback["status"] == "processed"
    assert callback["service"] == service.pk
    assert callback["payload"]["message_delivery_report"]["status"] == "DELIVERED"
    assert callback["summary"]["status"] == "DELIVERED"
    for field in ("id", "app_id", "status_reason", "received_at", "processed_at"):
        assert field in callback
    assert api.get("/api/v1/callbacks/", {"status": "pending"}).json()["results"] == []
    assert len(api.get("/api/v1/callbacks/", {"service": service.pk}).json()["results"]) == 2
    bad = api.get("/api/v1/callbacks/", {"status": "exploded"})
    assert bad.status_code == 400 and "status" in bad.json()


def test_callbacks_are_read_only(api: APIClient, service: MessagingService) -> None:
    _receive(service, "message_inbound")
    callback = Callback.objects.get()
    assert api.delete(f"/api/v1/callbacks/{callback.pk}/").status_code == 405
    assert api.post("/api/v1/callbacks/", {}, format="json").status_code == 405


def test_callbacks_list_runs_a_fixed_number_of_queries(
    api: APIClient, service: MessagingService
) -> None:
    for n in range(10):
        _receive(service, "message_inbound", message__id=f"01HMSG{n}")
    with CaptureQueriesContext(connection) as queries:
        assert len(api.get("/api/v1/callbacks/").json()["results"]) == 10
    assert len(queries) <= 5


def test_openapi_schema_and_docs_are_served(api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/messaging-services/" in paths
    assert "/api/v1/callbacks/" in paths
    assert api.get("/api/docs/").status_code == 200


OLD_KEY = "3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11@01E4556565565ERKYO"


def test_a_new_key_id_without_its_secret_is_a_400_and_changes_nothing(api: APIClient) -> None:
    created = api.post(URL, payload(), format="json").json()
    update = payload()
    update["authentications"][0] = {
        "direction": "outbound",
        "authentication_id": "9a9a9a9a-0000-4c51-9a43-2b8e6f0d5c11@01E4556565565ERKYO",
    }
    del update["authentications"][1]["secret"]
    response = api.put(f"{URL}{created['id']}/", update, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "authentications": [
            {
                "secret": [
                    "Enter the secret for the new key ID: the stored secret belongs to "
                    f"“{OLD_KEY}”."
                ]
            },
            {},
        ]
    }
    stored = {a.authentication_id: a.secret.reveal() for a in ServiceAuthentication.objects.all()}
    assert stored == {OLD_KEY: "access-key-secret-1", "webhook": "webhook-secret-1"}


def test_a_new_key_id_with_its_secret_replaces_the_old_key(api: APIClient) -> None:
    created = api.post(URL, payload(), format="json").json()
    update = payload()
    new_key = "9a9a9a9a-0000-4c51-9a43-2b8e6f0d5c11@01E4556565565ERKYO"
    update["authentications"][0] = {
        "direction": "outbound",
        "authentication_id": new_key,
        "secret": "access-key-secret-2",
    }
    del update["authentications"][1]["secret"]
    response = api.put(f"{URL}{created['id']}/", update, format="json")

    assert response.status_code == 200, response.json()
    stored = {a.authentication_id: a.secret.reveal() for a in ServiceAuthentication.objects.all()}
    assert stored == {new_key: "access-key-secret-2", "webhook": "webhook-secret-1"}


def test_a_patch_still_gives_whole_entries(api: APIClient) -> None:
    created = api.post(URL, payload(), format="json").json()
    response = api.patch(
        f"{URL}{created['id']}/", {"authentications": [{}, {"secret": "s"}]}, format="json"
    )
    assert response.status_code == 400
    required = ["This field is required."]
    assert response.json() == {
        "authentications": [
            {"direction": required, "authentication_id": required},
            {"direction": required, "authentication_id": required},
        ]
    }


def test_an_app_id_longer_than_a_callback_can_name_is_refused(api: Any) -> None:
    response = api.post(
        "/api/v1/messaging-services/",
        {
            "name": "Long",
            "service_connection": "https://eu.conversation.api.sinch.com/v1/projects/p/messages:send",
            "type": "sinchconversation",
            "authentications": [
                {"direction": "outbound", "authentication_id": "k@" + "A" * 65, "secret": "s"},
                {
                    "direction": "inbound",
                    "authentication_id": "webhook",
                    "secret": "w",
                    "triggers": ["MESSAGE_INBOUND"],
                },
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "at most 64 characters" in str(response.json()["authentications"])
