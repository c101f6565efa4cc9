"""Integration versions: every save that changes one is a version, through the admin, the API,
copy, disable and enable; a diff of any two; restore through the checks of a save."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from auditlog.registry import auditlog
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from configurator import audit
from configurator.choices import AuditOperation, AuditVia
from configurator.models import AuditEntry
from configurator.tokens import api_token_create
from integrations import services, versions
from integrations.models import Integration, IntegrationAuthentication, IntegrationVersion
from queues.models import Queue
from tests.factories import make_integration, make_queue

pytestmark = pytest.mark.django_db

LIST = "/admin/integrations/integration/"
API = "/api/v1/integrations/"
SECRET = "s3cret-never-shown-9f2c"
LISTENER = {
    "request": {
        "method": "POST",
        "headers": {"x-api-key": "{authentications.api-key}"},
        "body": {"event": "{event}", "contact": "{contact}"},
    }
}


def _numbers(integration: Integration) -> list[int]:
    return list(integration.versions.order_by("number").values_list("number", flat=True))


def _listener(queue: Queue, **fields: Any) -> Integration:
    return make_integration(
        "Listener",
        queues=[queue],
        authentications={"api-key": SECRET},
        configuration=LISTENER,
        **fields,
    )


def _change_form(integration: Integration, **changes: Any) -> dict[str, Any]:
    """The integration's page as submitted unchanged (its one entry's secret box left empty)."""
    entry = integration.authentications.get()
    data: dict[str, Any] = {
        "channel_type": integration.channel_type,
        "name": integration.name,
        "description": integration.description,
        "endpoint_url": integration.endpoint_url,
        "ordinal": str(integration.ordinal),
        "direction": integration.direction,
        "events": list(integration.events),
        "queues": [str(q.pk) for q in integration.queues.all()],
        "configuration": json.dumps(integration.configuration),
        "authentications-TOTAL_FORMS": "1",
        "authentications-INITIAL_FORMS": "1",
        "authentications-MIN_NUM_FORMS": "0",
        "authentications-MAX_NUM_FORMS": "1000",
        "authentications-0-id": str(entry.pk),
        "authentications-0-integration": str(integration.pk),
        "authentications-0-authentication_id": entry.authentication_id,
        "authentications-0-secret": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def audited() -> Iterator[None]:
    """Integrations recorded by the audit trail (as the audit part registers them)."""
    registered = auditlog.contains(Integration)
    if not registered:
        audit.register(Integration)
    yield
    if not registered:
        auditlog.unregister(Integration)


# --- What makes a version ---------------------------------------------------------------------


def test_a_new_integration_is_version_1_and_each_change_a_new_version(queue: Queue) -> None:
    integration = _listener(queue)
    first = integration.versions.get()

    integration.endpoint_url = "https://hooks.example.com/v2/{event}"
    services.integration_save(integration=integration)

    assert _numbers(integration) == [1, 2]
    assert first.changed == [] and first.via == AuditVia.SYSTEM and first.user is None
    assert first.snapshot["queues"] == [{"id": queue.pk, "name": queue.name}]
    assert first.snapshot["authentications"] == ["api-key"]
    assert list(first.snapshot["configuration"]) == ["request"]
    assert integration.versions.get(number=2).changed == ["endpoint_url"]


def test_a_save_that_changes_nothing_makes_no_version(queue: Queue) -> None:
    integration = _listener(queue)

    services.integration_save(integration=integration, queues=[queue])
    Queue.objects.filter(pk=queue.pk).update(name="Renamed queue")  # not the integration's
    services.integration_save(integration=Integration.objects.get(pk=integration.pk))

    assert _numbers(integration) == [1]


def test_configuration_key_order_is_a_change_kept_as_typed(queue: Queue) -> None:
    integration = _listener(queue)
    integration.configuration = {
        "request": {
            "body": LISTENER["request"]["body"],
            "method": "POST",
            "headers": LISTENER["request"]["headers"],
        }
    }
    services.integration_save(integration=integration)

    stored = IntegrationVersion.objects.get(integration=integration, number=2).snapshot
    assert list(stored["configuration"]["request"]) == ["body", "method", "headers"]


def test_admin_save_is_one_version_by_its_user_through_the_admin(
    admin_client_: Client, queue: Queue
) -> None:
    integration = _listener(queue)
    data = _change_form(
        integration,
        endpoint_url="https://hooks.example.com/other/{event}",
        **{
            "authentications-TOTAL_FORMS": "2",
            "authentications-1-authentication_id": "basic:me",
            "authentications-1-secret": "another-secret-1",
        },
    )

    response = admin_client_.post(f"{LIST}{integration.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    version = integration.versions.get(number=2)
    assert _numbers(integration) == [1, 2]
    assert version.changed == ["endpoint_url", "authentications"]
    assert version.via == AuditVia.ADMIN and version.username == "admin"
    assert version.snapshot["authentications"] == ["api-key", "basic:me"]


def test_admin_save_unchanged_makes_no_version(admin_client_: Client, queue: Queue) -> None:
    integration = _listener(queue)

    response = admin_client_.post(f"{LIST}{integration.pk}/change/", _change_form(integration))

    assert response.status_code == 302
    assert _numbers(integration) == [1]


def test_api_create_and_update_are_versions_by_the_tokens_user(
    api: APIClient, queue: Queue
) -> None:
    body = {
        "name": "Listener",
        "channel_type": "chat",
        "endpoint_url": "https://hooks.example.com/events",
        "direction": "inbound",
        "events": ["ended"],
        "queues": [queue.pk],
        "configuration": {"request": {"method": "POST"}},
    }
    created = api.post(API, body, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]

    api.patch(f"{API}{pk}/", {"events": ["queued", "ended"]}, format="json")

    rows = list(IntegrationVersion.objects.filter(integration_id=pk).order_by("number"))
    assert [(v.number, v.via, v.username) for v in rows] == [
        (1, AuditVia.API, "admin"),
        (2, AuditVia.API, "admin"),
    ]
    assert rows[1].changed == ["events"]


def test_copy_disable_and_enable_are_versions(api: APIClient, queue: Queue) -> None:
    integration = _listener(queue)

    copy = api.post(f"{API}{integration.pk}/copy/").json()
    api.post(f"{API}{integration.pk}/disable/")
    api.post(f"{API}{integration.pk}/disable/")  # already disabled: nothing changes
    api.post(f"{API}{integration.pk}/enable/")
    api.post(f"{API}{integration.pk}/resume/")  # not paused: nothing changes

    copied = IntegrationVersion.objects.get(integration_id=copy["id"])
    assert copied.number == 1 and copied.snapshot["authentications"] == []
    assert [v.changed for v in integration.versions.order_by("number")] == [
        [],
        ["enabled"],
        ["enabled"],
    ]


def test_versions_are_deleted_with_the_integration(queue: Queue) -> None:
    integration = _listener(queue)
    integration.delete()

    assert not IntegrationVersion.objects.exists()


def test_secrets_are_never_in_a_version(
    api: APIClient, admin_client_: Client, queue: Queue
) -> None:
    integration = _listener(queue)
    integration.configuration = {"request": {"method": "GET"}}
    integration.endpoint_url = "https://hooks.example.com/x"
    services.integration_save(integration=integration)
    base = f"{LIST}{integration.pk}/versions/"

    stored = json.dumps(list(IntegrationVersion.objects.values()), default=str)
    answers = [
        api.get(f"{API}{integration.pk}/versions/").content,
        api.get(f"{API}{integration.pk}/versions/2/?compare=1").content,
        admin_client_.get(base).content,
        admin_client_.get(f"{base}2/").content,
        admin_client_.get(f"{base}compare/?from=1&to=2").content,
    ]

    assert SECRET not in stored
    for answer in answers:
        assert SECRET.encode() not in answer


# --- Diff -------------------------------------------------------------------------------------


def test_diff_names_the_fields_and_shows_the_configuration_line_by_line(queue: Queue) -> None:
    before = {"request": {"method": "POST", "timeout": 5}}
    after = {"request": {"method": "PUT", "timeout": 5}}
    old = versions.snapshot_of(
        {**dict.fromkeys(versions.PLAIN_FIELDS, ""), "events": ["ended"], "configuration": before},
        queues=[(1, "Support")],
        authentication_ids=["api-key"],
    )
    new = {**old, "events": ["queued", "ended"], "queues": [], "configuration": after}

    diff = versions.versions_diff(before=1, before_snapshot=old, after=2, after_snapshot=new)

    assert [(c.name, c.before, c.after) for c in diff.fields] == [
        ("events", ["ended"], ["queued", "ended"]),
        ("queues", [{"id": 1, "name": "Support"}], []),
    ]
    assert diff.configuration == [
        "@@ -1,6 +1,6 @@",
        " {",
        '   "request": {',
        '-    "method": "POST",',
        '+    "method": "PUT",',
        '     "timeout": 5',
        "   }",
        " }",
    ]


def test_api_version_shows_its_snapshot_and_diff_with_any_other(
    api: APIClient, queue: Queue
) -> None:
    integration = _listener(queue)
    for url in ("https://hooks.example.com/b", "https://hooks.example.com/c"):
        integration.endpoint_url = url
        services.integration_save(integration=integration)

    listed = api.get(f"{API}{integration.pk}/versions/").json()
    detail = api.get(f"{API}{integration.pk}/versions/3/").json()
    against_first = api.get(f"{API}{integration.pk}/versions/3/?compare=1").json()
    first = api.get(f"{API}{integration.pk}/versions/1/").json()

    assert [v["number"] for v in listed["results"]] == [3, 2, 1]
    assert listed["results"][0]["summary"] == "endpoint URL"
    assert listed["results"][2]["summary"] == "first version"
    assert "snapshot" not in listed["results"][0]
    assert detail["snapshot"]["endpoint_url"] == "https://hooks.example.com/c"
    assert detail["diff"]["before"] == 2
    assert detail["diff"]["fields"] == [
        {
            "field": "endpoint_url",
            "label": "endpoint URL",
            "before": "https://hooks.example.com/b",
            "after": "https://hooks.example.com/c",
        }
    ]
    assert against_first["diff"]["before"] == 1
    assert against_first["diff"]["fields"][0]["before"] == "https://hooks.example.com/events"
    assert first["diff"] is None


def test_api_unknown_versions_are_404_and_a_bad_compare_400(api: APIClient, queue: Queue) -> None:
    integration = _listener(queue)
    base = f"{API}{integration.pk}/versions/"

    assert api.get(f"{base}7/").status_code == 404
    assert api.post(f"{base}7/restore/").status_code == 404
    assert api.get(f"{base}1/?compare=x").json() == {"compare": ["Give a version number, e.g. 1."]}
    assert api.get(f"{base}1/?compare=9").json() == {
        "compare": ["This integration has no version 9."]
    }
    assert api.get(f"{API}999999/versions/").status_code == 404


def test_admin_compare_page_shows_the_json_diff_escaped(
    admin_client_: Client, queue: Queue
) -> None:
    integration = _listener(queue)
    integration.description = "<b>bold</b>"
    integration.configuration = {
        "request": {**LISTENER["request"], "body": {"note": "<script>alert(1)</script>"}}
    }
    services.integration_save(integration=integration)

    html = admin_client_.get(
        f"{LIST}{integration.pk}/versions/compare/?from=1&to=2"
    ).content.decode()

    assert "<script>alert(1)</script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<span class="diff-added">+      &quot;note&quot;' in html
    assert "Changes from version 1 to version 2" in html


def test_admin_versions_list_and_link_from_the_page(admin_client_: Client, queue: Queue) -> None:
    integration = _listener(queue)
    integration.ordinal = 5
    services.integration_save(integration=integration)

    page = admin_client_.get(f"{LIST}{integration.pk}/change/").content.decode()
    listed = admin_client_.get(f"{LIST}{integration.pk}/versions/").content.decode()

    assert f"{LIST}{integration.pk}/versions/" in page
    assert "first version" in listed and "ordinal" in listed
    assert admin_client_.get(f"{LIST}{integration.pk}/versions/9/").status_code == 404


# --- Restore ----------------------------------------------------------------------------------


def test_restore_puts_the_version_back_as_a_new_version(
    api: APIClient, queue: Queue, audited: None
) -> None:
    integration = _listener(queue, description="first")
    other = make_queue("Sales")
    integration.description = "broken"
    integration.endpoint_url = "https://wrong.example.com/{event}"
    services.integration_save(integration=integration, queues=[queue, other])

    response = api.post(f"{API}{integration.pk}/versions/1/restore/")

    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["restored"] == 1 and answer["version"]["number"] == 3
    assert answer["version"]["restored_from"] == 1
    assert answer["version"]["summary"].startswith("restored from version 1: description")
    integration.refresh_from_db()
    assert integration.description == "first"
    assert integration.endpoint_url == "https://hooks.example.com/events"
    assert list(integration.queues.all()) == [queue]
    assert integration.authentications.get().secret.reveal() == SECRET
    # The fields put back and the queue taken off: each an entry of the restore.
    entries = AuditEntry.objects.filter(operation=AuditOperation.RESTORE)
    assert {tuple(sorted(e.changes)) for e in entries} == {
        ("description", "endpoint_url"),
        ("queues",),
    }
    for entry in entries:
        assert entry.additional_data == {"version": 1} and entry.via == AuditVia.API


def test_restoring_what_it_already_is_changes_nothing(api: APIClient, queue: Queue) -> None:
    integration = _listener(queue)

    answer = api.post(f"{API}{integration.pk}/versions/1/restore/").json()

    assert answer["version"] is None and _numbers(integration) == [1]


def test_a_version_naming_a_deleted_queue_is_not_restored(api: APIClient, queue: Queue) -> None:
    gone = make_queue("Gone")
    integration = _listener(queue)
    services.integration_save(integration=integration, queues=[queue, gone])
    integration.endpoint_url = "https://hooks.example.com/changed"
    services.integration_save(integration=integration, queues=[queue])
    gone_pk = gone.pk
    gone.delete()
    before = Integration.objects.values().get(pk=integration.pk)

    response = api.post(f"{API}{integration.pk}/versions/2/restore/")

    assert response.status_code == 400
    assert response.json() == {
        "queues": [
            f"Queue “Gone” (ID {gone_pk}) no longer exists: choose the queues on the "
            "integration's page instead."
        ]
    }
    assert Integration.objects.values().get(pk=integration.pk) == before
    assert _numbers(integration) == [1, 2, 3]


def test_a_configuration_naming_a_removed_entry_is_not_restored(
    api: APIClient, queue: Queue
) -> None:
    integration = _listener(queue)
    integration.configuration = {"request": {"method": "POST"}}
    services.integration_save(integration=integration, authentications=[])

    response = api.post(f"{API}{integration.pk}/versions/1/restore/")

    assert response.status_code == 400
    assert "configuration" in response.json()
    assert 'unknown authentication "api-key"' in response.json()["configuration"][0]
    assert Integration.objects.get(pk=integration.pk).configuration == {
        "request": {"method": "POST"}
    }


def test_a_name_taken_since_is_not_restored(api: APIClient, queue: Queue) -> None:
    integration = _listener(queue)
    integration.name = "Renamed"
    services.integration_save(integration=integration)
    make_integration("LISTENER")

    response = api.post(f"{API}{integration.pk}/versions/1/restore/")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert Integration.objects.get(pk=integration.pk).name == "Renamed"
    assert _numbers(integration) == [1, 2]


def test_admin_restore_asks_first_then_restores(admin_client_: Client, queue: Queue) -> None:
    integration = _listener(queue)
    integration.endpoint_url = "https://wrong.example.com/"
    services.integration_save(integration=integration)
    url = f"{LIST}{integration.pk}/versions/1/restore/"

    asked = admin_client_.get(url)
    assert "Yes, restore version 1" in asked.content.decode()
    assert _numbers(integration) == [1, 2]

    done = admin_client_.post(url, follow=True)

    assert "Version 1 of “Listener” restored, as version 3." in done.content.decode()
    assert Integration.objects.get(pk=integration.pk).endpoint_url == (
        "https://hooks.example.com/events"
    )
    assert integration.versions.get(number=3).via == AuditVia.ADMIN


def test_admin_restore_refused_says_why(admin_client_: Client, queue: Queue) -> None:
    gone = make_queue("Gone")
    integration = _listener(queue)
    services.integration_save(integration=integration, queues=[gone])
    services.integration_save(integration=integration, queues=[queue])
    gone.delete()

    html = admin_client_.post(f"{LIST}{integration.pk}/versions/2/restore/").content.decode()

    assert "Version 2 cannot be restored" in html and "Queue “Gone”" in html
    assert _numbers(integration) == [1, 2, 3]


# --- Permissions ------------------------------------------------------------------------------


def _user_with(*codenames: str) -> User:
    user = User.objects.create_user("dev", is_staff=True, password="dev-pass-123")
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="integrations", codename__in=codenames)
    )
    return user


def test_viewing_needs_view_and_restoring_change_permission(queue: Queue) -> None:
    integration = _listener(queue)
    viewer = _user_with("view_integration")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=viewer)[1]}")
    browser = Client()
    browser.force_login(viewer)
    base = f"{LIST}{integration.pk}/versions/"

    assert api.get(f"{API}{integration.pk}/versions/").status_code == 200
    assert api.get(f"{API}{integration.pk}/versions/1/").status_code == 200
    assert api.post(f"{API}{integration.pk}/versions/1/restore/").status_code == 403
    assert browser.get(base).status_code == 200
    assert "Restore version 1" not in browser.get(f"{base}1/").content.decode()
    assert browser.get(f"{base}1/restore/").status_code == 403
    assert browser.post(f"{base}1/restore/").status_code == 403


# --- Query counts -----------------------------------------------------------------------------


def _grow(integration: Integration, round_: int) -> None:
    """Versions of different shapes: other queues, entries, users and channels each round."""
    for i in range(3):
        queue = make_queue()
        user = User.objects.create_user(f"editor-{round_}-{i}", is_staff=True)
        IntegrationAuthentication.objects.create(
            integration=integration, authentication_id=f"k-{round_}-{i}", secret="s"
        )
        integration.ordinal = 10 * round_ + i + 2
        integration.description = f"round {round_} edit {i}"
        channel = (AuditVia.API, AuditVia.ADMIN, AuditVia.COMMAND)[i]
        with audit.via(channel, actor=user):
            services.integration_save(integration=integration, queues=[queue])


def _count(client: Any, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def test_version_lists_and_pages_run_a_fixed_number_of_queries(
    api: APIClient, admin_client_: Client, queue: Queue
) -> None:
    integration = _listener(queue)
    base = f"{LIST}{integration.pk}/versions/"
    pages = [
        (api, f"{API}{integration.pk}/versions/"),
        (api, f"{API}{integration.pk}/versions/2/?compare=1"),
        (admin_client_, base),
        (admin_client_, f"{base}2/"),
        (admin_client_, f"{base}compare/?from=1&to=2"),
    ]
    _grow(integration, 0)
    with_n = [_count(client, url) for client, url in pages]
    _grow(integration, 1)

    assert [_count(client, url) for client, url in pages] == with_n


def test_restore_leaves_enabled_as_it_is_now(api: APIClient, queue: Queue) -> None:
    """Enabling is Enable's, which checks secrets first; someone may have disabled it since."""
    integration = _listener(queue, description="first")
    assert integration.enabled
    services.integration_disable(integration=integration)
    integration.refresh_from_db()
    integration.description = "second"
    services.integration_save(integration=integration)

    response = api.post(f"{API}{integration.pk}/versions/1/restore/")

    assert response.status_code == 200, response.json()
    integration.refresh_from_db()
    assert (integration.description, integration.enabled) == ("first", False)


def test_a_nul_in_the_configuration_is_refused_by_its_path(api: APIClient, queue: Queue) -> None:
    integration = _listener(queue)
    configuration = {**LISTENER, "request": {**LISTENER["request"], "body": {"x": "a\u0000"}}}

    response = api.patch(f"{API}{integration.pk}/", {"configuration": configuration}, format="json")

    assert response.status_code == 400
    assert "request.body.x: contains a NUL character" in str(response.json()["configuration"])
