"""`/api/v1/integrations/`: the same rules and errors as the admin, secrets write-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from rest_framework.test import APIClient

from integrations.models import Integration, IntegrationAuthentication
from queues.models import Queue
from tests.factories import make_integration, make_queue

pytestmark = pytest.mark.django_db

URL = "/api/v1/integrations/"
SEED = Path(__file__).resolve().parents[1] / "fixtures" / "integrations"


def _body(queue: Queue, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Lifecycle listener",
        "channel_type": "chat",
        "endpoint_url": "https://hooks.example.com/contact-pro-events/{event}",
        "direction": "both",
        "events": ["queued", "ended"],
        "direct_chats": True,
        "queues": [queue.pk],
        "authentications": [
            {"authentication_id": "basic:contactpro", "secret": "basic-pw-1"},
            {"authentication_id": "api-key", "secret": "key-secret-1"},
        ],
        "configuration": json.loads((SEED / "seed004_variant1.json").read_text()),
    }
    body.update(changes)
    return body


def test_creates_an_integration_with_write_only_encrypted_secrets(
    api: APIClient, queue: Queue
) -> None:
    response = api.post(URL, _body(queue), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["events"] == ["queued", "ended"] and data["enabled"] is True
    assert data["authentications"] == [
        {"authentication_id": "api-key", "type": "header", "has_secret": True},
        {"authentication_id": "basic:contactpro", "type": "basic", "has_secret": True},
    ]
    assert data["problems"] == []
    assert "key-secret-1" not in response.content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM integrations_integrationauthentication")
        stored = [row[0] for row in cursor.fetchall()]
    assert all(s.startswith("gAAAA") and "secret" not in s for s in stored)


def test_returns_the_same_errors_as_the_admin(api: APIClient, queue: Queue) -> None:
    configuration = {
        "request": {"method": "POST", "headers": {"x-api-key": "{authentications.api-kye}"}}
    }
    response = api.post(
        URL,
        _body(
            queue,
            configuration=configuration,
            direction="outbound",
            events=["received", "ended"],
            direct_calls=True,
            authentications=[{"authentication_id": "api-key", "secret": "k"}],
        ),
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "events": ["Received: none of this integration's conversations (chats out) produce it."],
        "direct_calls": ["A Chat integration has no direct calls."],
        "configuration": [
            'request.headers.x-api-key: unknown authentication "api-kye"; defined: api-key '
            '(did you mean "api-key"?)'
        ],
    }
    assert not Integration.objects.exists()


def test_authentication_errors_are_per_entry(api: APIClient, queue: Queue) -> None:
    response = api.post(
        URL,
        _body(
            queue,
            authentications=[
                {"authentication_id": "basic:contactpro", "secret": "pw"},
                {"authentication_id": "api key", "secret": "k"},
            ],
        ),
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert errors["authentications"][0] == {}
    assert "a name for a header value" in errors["authentications"][1]["authentication_id"][0]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"endpoint_url": "http://hooks.example.com/"}, "endpoint_url"),
        ({"events": ["closed"]}, "events"),
        ({"channel_type": "video"}, "channel_type"),
        ({"configuration": "not an object"}, "configuration"),
        ({"ordinal": 0}, "ordinal"),
        ({"queues": [999999]}, "queues"),
    ],
)
def test_bad_fields_are_named(
    api: APIClient, queue: Queue, changes: dict[str, Any], field: str
) -> None:
    response = api.post(URL, _body(queue, **changes), format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_name_is_unique(api: APIClient, queue: Queue) -> None:
    assert api.post(URL, _body(queue), format="json").status_code == 201
    response = api.post(URL, _body(queue), format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_update_without_secrets_keeps_them(api: APIClient, queue: Queue) -> None:
    created = api.post(URL, _body(queue), format="json").json()
    response = api.patch(
        f"{URL}{created['id']}/",
        {
            "description": "Posts every event",
            "authentications": [
                {"authentication_id": "basic:contactpro"},
                {"authentication_id": "api-key", "secret": "rotated"},
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    secrets = {
        a.authentication_id: a.secret.reveal() for a in IntegrationAuthentication.objects.all()
    }
    assert secrets == {"basic:contactpro": "basic-pw-1", "api-key": "rotated"}
    # A patch that leaves authentications out keeps them and still checks the configuration.
    response = api.patch(f"{URL}{created['id']}/", {"ordinal": 2}, format="json")
    assert response.status_code == 200


def test_removing_a_used_authentication_is_refused(api: APIClient, queue: Queue) -> None:
    created = api.post(URL, _body(queue), format="json").json()
    response = api.patch(
        f"{URL}{created['id']}/",
        {"authentications": [{"authentication_id": "basic:contactpro"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["configuration"] == [
        'request.headers.x-api-key: unknown authentication "api-key"; defined: basic:contactpro'
    ]


def test_copy_disable_and_enable(api: APIClient, queue: Queue) -> None:
    created = api.post(URL, _body(queue), format="json").json()

    copy = api.post(f"{URL}{created['id']}/copy/")
    assert copy.status_code == 201
    copied = copy.json()
    assert copied["name"] == "Lifecycle listener (copy)"
    assert copied["authentications"] == [] and copied["enabled"] is False
    assert copied["events"] == ["queued", "ended"]
    assert len(copied["problems"]) == 2

    refused = api.post(f"{URL}{copied['id']}/enable/")
    assert refused.status_code == 409
    assert "cannot be enabled yet" in refused.json()["detail"]

    disabled = api.post(f"{URL}{created['id']}/disable/")
    assert disabled.status_code == 200
    assert disabled.json()["events"] == ["queued", "ended"] and disabled.json()["enabled"] is False
    enabled = api.post(f"{URL}{created['id']}/enable/")
    assert enabled.json()["enabled"] is True


def test_presets_are_listed_and_each_one_saves(api: APIClient, queue: Queue) -> None:
    presets = api.get(f"{URL}presets/").json()
    assert [p["key"] for p in presets] == [
        "fetch-data",
        "listen-all",
        "listen-selected",
        "routing",
        "csat",
    ]
    for preset in presets:
        body = _body(
            queue,
            name=preset["title"],
            events=preset["events"],
            direction=preset["direction"],
            configuration=preset["configuration"],
            authentications=[
                {"authentication_id": a.replace("<username>", "someone"), "secret": "s"}
                for a in preset["authentications"]
            ],
        )
        response = api.post(URL, body, format="json")
        assert response.status_code == 201, (preset["key"], response.json())


def test_list_runs_a_fixed_number_of_queries(
    api: APIClient, queue: Queue, django_assert_max_num_queries: Any
) -> None:
    for n in range(5):
        make_integration(f"Hook {n}", queues=[queue], authentications={"api-key": "k"})
    with django_assert_max_num_queries(8):
        response = api.get(URL)
    assert response.json()["count"] == 5


def test_filters_by_queue_and_channel_type(api: APIClient, queue: Queue) -> None:
    make_integration("On support", queues=[queue])
    make_integration("Phones", channel_type="phone", direct_calls=True)
    assert [i["name"] for i in api.get(URL, {"queues": queue.pk}).json()["results"]] == [
        "On support"
    ]
    assert [i["name"] for i in api.get(URL, {"channel_type": "phone"}).json()["results"]] == [
        "Phones"
    ]


def test_disable_needs_the_change_permission(queue: Queue) -> None:
    integration = make_integration(queues=[queue])
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_integration"))
    client = APIClient()
    client.force_authenticate(viewer)
    assert client.get(f"{URL}{integration.pk}/").status_code == 200
    assert client.post(f"{URL}{integration.pk}/disable/").status_code == 403
    assert client.post(f"{URL}{integration.pk}/copy/").status_code == 403


def test_schema_describes_the_integration_endpoints(api: APIClient) -> None:
    schema = api.get("/api/schema/", {"format": "json"}).json()
    for path in ("copy", "disable", "enable"):
        assert f"/api/v1/integrations/{{id}}/{path}/" in schema["paths"]
    assert "/api/v1/integrations/presets/" in schema["paths"]


def test_unused_queue_is_not_required(api: APIClient) -> None:
    make_queue("Hotline", ["+3581234"], channel_type="phone")
    response = api.post(
        URL,
        {
            "name": "Phones",
            "channel_type": "phone",
            "endpoint_url": "https://hooks.example.com/",
            "events": ["ended"],
            "direct_calls": True,
            "configuration": {"request": {"method": "POST"}},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def test_deeply_nested_json_is_a_400(api: APIClient, queue: Queue) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    response = api.post(URL, deep, content_type="application/json")
    assert response.status_code == 400
    nested: Any = "x"
    for _ in range(40):
        nested = {"a": nested}
    response = api.post(
        URL,
        _body(queue, configuration={"request": {"method": "POST", "body": nested}}),
        format="json",
    )
    assert response.json() == {
        "configuration": ["The configuration is nested more than 32 levels deep."]
    }


def test_the_admin_and_the_api_report_the_same_errors(
    api: APIClient, admin_client_: Any, queue: Queue
) -> None:
    configuration = {
        "request": {"method": "GET", "body": {"n": "{contact.prioriy}"}, "timeout": 99},
        "response": {"save": {"2nd": "{response.body.x}"}, "set": {"queue": {"id": 424242}}},
    }
    from_api = api.post(URL, _body(queue, configuration=configuration), format="json").json()

    form = {
        "channel_type": "chat",
        "name": "Lifecycle listener",
        "endpoint_url": "https://hooks.example.com/contact-pro-events/{event}",
        "ordinal": "1",
        "direction": "both",
        "events": ["queued", "ended"],
        "queues": [str(queue.pk)],
        "configuration": json.dumps(configuration),
        "authentications-TOTAL_FORMS": "0",
        "authentications-INITIAL_FORMS": "0",
    }
    page = admin_client_.post("/admin/integrations/integration/add/", form)
    from_admin = page.context["adminform"].form.errors["configuration"]

    assert len(from_api["configuration"]) == 5
    assert list(from_admin) == from_api["configuration"]


ECHO_SAVE = {"response": {"save": {"seen": "{response.body.id}"}}}


def test_an_empty_echo_configuration_is_a_400(api: APIClient, queue: Queue) -> None:
    body = {"name": "Echo", "channel_type": "chat", "endpoint_url": "edi://echo"}
    response = api.post(URL, {**body, "configuration": {}}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "configuration": [
            "The configuration is empty: edi://echo answers with the contact's data; say what "
            'to do with it in "response" ("set" or "save").'
        ]
    }
    assert not Integration.objects.exists()
    created = api.post(URL, {**body, "configuration": ECHO_SAVE}, format="json")
    assert created.status_code == 201, created.json()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"endpoint_url": "edi://echo", "configuration": {}}, "configuration"),
        ({"configuration": {}}, "configuration"),
        ({"configuration": []}, "configuration"),
        ({"configuration": None}, "configuration"),
        ({"configuration": {"request": None}}, "configuration"),
        ({"configuration": {"request": []}}, "configuration"),
        ({"configuration": {"request": {"method": None}}}, "configuration"),
        ({"configuration": {"request": {"method": "POST", "headers": []}}}, "configuration"),
        ({"configuration": {"request": {"method": "POST"}, "response": []}}, "configuration"),
        (
            {"configuration": {"request": {"method": "POST"}, "response": {"set": None}}},
            "configuration",
        ),
        (
            {"configuration": {"request": {"method": "POST"}, "response": {"save": []}}},
            "configuration",
        ),
        (
            {"configuration": {"request": {"method": "POST"}, "response": {"set": {"queue": []}}}},
            "configuration",
        ),
        ({"events": None}, "events"),
        ({"events": {}}, "events"),
        ({"events": [None]}, "events"),
        ({"queues": [None]}, "queues"),
        ({"authentications": None}, "authentications"),
        ({"authentications": {}}, "authentications"),
        ({"authentications": [None]}, "authentications"),
        ({"authentications": [{}]}, "authentications"),
        ({"authentications": [[]]}, "authentications"),
        ({"authentications": [{"authentication_id": None, "secret": "s"}]}, "authentications"),
        ({"authentications": [{"authentication_id": "k", "secret": None}]}, "authentications"),
        ({"authentications": [{"authentication_id": "k", "secret": {}}]}, "authentications"),
        ({"name": None}, "name"),
        ({"name": {}}, "name"),
        ({"endpoint_url": None}, "endpoint_url"),
        ({"endpoint_url": []}, "endpoint_url"),
        ({"channel_type": None}, "channel_type"),
        ({"direction": {}}, "direction"),
        ({"direct_chats": None}, "direct_chats"),
        ({"ordinal": "first"}, "ordinal"),
        ({"description": None}, "description"),
    ],
)
def test_odd_but_parseable_input_is_a_400_naming_the_field(
    api: APIClient, queue: Queue, changes: dict[str, Any], field: str
) -> None:
    response = api.post(URL, _body(queue, **changes), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Integration.objects.exists()


def test_a_renamed_entry_without_a_secret_is_a_400_and_changes_nothing(
    api: APIClient, queue: Queue
) -> None:
    created = api.post(URL, _body(queue), format="json").json()
    renamed = [
        {"authentication_id": "basic:contactpro"},
        {"authentication_id": "api-key-2"},
    ]
    configuration = {"request": {"method": "POST", "headers": {"x": "{authentications.api-key-2}"}}}
    response = api.patch(
        f"{URL}{created['id']}/",
        {"authentications": renamed, "configuration": configuration},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "authentications": [{}, {"secret": ["Enter the secret: a new entry has none stored yet."]}]
    }
    stored = {
        a.authentication_id: a.secret.reveal() for a in IntegrationAuthentication.objects.all()
    }
    assert stored == {"basic:contactpro": "basic-pw-1", "api-key": "key-secret-1"}


def test_a_null_secret_on_update_keeps_the_stored_one(api: APIClient, queue: Queue) -> None:
    created = api.post(URL, _body(queue), format="json").json()
    entries = [
        {"authentication_id": "basic:contactpro", "secret": None},
        {"authentication_id": "api-key", "secret": ""},
    ]
    response = api.patch(f"{URL}{created['id']}/", {"authentications": entries}, format="json")

    assert response.status_code == 200, response.json()
    stored = {
        a.authentication_id: a.secret.reveal() for a in IntegrationAuthentication.objects.all()
    }
    assert stored == {"basic:contactpro": "basic-pw-1", "api-key": "key-secret-1"}


def test_a_patch_still_gives_whole_entries(api: APIClient, queue: Queue) -> None:
    created = api.post(URL, _body(queue), format="json").json()
    response = api.patch(f"{URL}{created['id']}/", {"authentications": [{}]}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "authentications": [{"authentication_id": ["This field is required."]}]
    }


def test_the_schema_describes_enabled_and_the_three_switches(api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    for action in ("disable", "enable", "resume"):
        assert "post" in schema["paths"][f"/api/v1/integrations/{{id}}/{action}/"]
    fields = schema["components"]["schemas"]["Integration"]["properties"]
    assert fields["enabled"]["readOnly"] is True
    assert "disabled_events" not in fields


def test_the_list_filters_by_enabled(api: APIClient, queue: Queue) -> None:
    on = make_integration("On", queues=[queue])
    off = make_integration("Off", queues=[queue])
    api.post(f"{URL}{off.pk}/disable/")

    shown = {
        flag: [i["name"] for i in api.get(f"{URL}?enabled={flag}").json()["results"]]
        for flag in ("true", "false")
    }

    assert shown == {"true": [on.name], "false": [off.name]}
