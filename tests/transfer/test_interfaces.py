"""The commands, the API and the admin page of configuration export and import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from configurator.tokens import api_token_create
from messaging.models import MessagingService
from queues.models import Queue
from tests.sinch import WEBHOOK_SECRET
from tests.transfer.landscape import (
    ACCESS_SECRET,
    INTEGRATION_SECRET,
    build_landscape,
    landscape_secrets,
    wipe,
    without_time,
)
from transfer.document import config_export

pytestmark = pytest.mark.django_db
SECRETS = (ACCESS_SECRET, WEBHOOK_SECRET, INTEGRATION_SECRET)


def _staff(*codenames: str) -> User:
    user = User.objects.create_user(
        "operator", "op@example.com", "operator-pass-123", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)


def _api(user: User) -> APIClient:
    _, key = api_token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


# --- Commands --------------------------------------------------------------------------------


def test_commands_round_trip_through_files(tmp_path: Path, capsys: Any) -> None:
    build_landscape()
    exported = tmp_path / "config.json"
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps(landscape_secrets()))
    call_command("config_export", "--output", str(exported))
    wipe()

    call_command("config_import", str(exported), "--dry-run", "--secrets", str(secrets))
    dry = capsys.readouterr().out
    assert "create    queue “Sales”" in dry and "Dry run: nothing was written." in dry
    assert not Queue.objects.exists()

    call_command("config_import", str(exported), "--secrets", str(secrets))
    assert "Imported." in capsys.readouterr().out

    call_command("config_export")
    again = json.loads(capsys.readouterr().out)
    assert without_time(again) == without_time(json.loads(exported.read_text()))
    assert not any(secret in exported.read_text() for secret in SECRETS)


def test_import_command_fails_with_the_errors_and_writes_nothing(
    tmp_path: Path, capsys: Any
) -> None:
    build_landscape()
    document = config_export()
    wipe()
    document["queues"][0]["default_priority"] = 0
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("config_import", str(path))

    assert "default_priority" in capsys.readouterr().out
    assert not MessagingService.objects.exists()


def test_import_command_maps_and_lists_missing_secrets(tmp_path: Path, capsys: Any) -> None:
    build_landscape()
    path = tmp_path / "config.json"
    call_command("config_export", "--output", str(path))
    wipe()

    call_command(
        "config_import",
        str(path),
        "--map-connection",
        "eu/e2df3a34-a71b-4448-9db5-a8d2baad28e4=us/us-project",
        "--map-app",
        "01E4556565565ERKYO=01US0000000000000000000000",
    )

    out = capsys.readouterr().out
    assert (
        "enter the secret of 3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11@01US0000000000000000000000" in out
    )
    assert MessagingService.objects.get(name="Sinch EU").region == "us"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--map-app", "NOEQUALS"], "is not OLD=NEW"),
        (["--map-connection", "eu=us"], "region/project"),
    ],
)
def test_import_command_refuses_bad_options(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config_export()))

    with pytest.raises(CommandError, match=message):
        call_command("config_import", str(path), *arguments)


def test_import_command_refuses_a_file_that_is_not_a_document(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"format": "other", "version": 1}')

    with pytest.raises(CommandError, match="format"):
        call_command("config_import", str(path))


# --- API -------------------------------------------------------------------------------------


def test_export_needs_the_export_permission() -> None:
    assert _api(_staff("view_queue")).get("/api/v1/config/export/").status_code == 403
    User.objects.all().delete()

    response = _api(_staff("export_configuration")).get("/api/v1/config/export/")

    assert response.status_code == 200
    assert response.json()["format"] == "configurator-config"


def test_import_needs_the_import_permission() -> None:
    document = config_export()
    refused = _api(_staff("export_configuration")).post(
        "/api/v1/config/import/", {"document": document}, format="json"
    )
    assert refused.status_code == 403


def test_api_round_trip_with_dry_run_first() -> None:
    build_landscape()
    client = _api(_staff("export_configuration", "import_configuration"))
    document = client.get("/api/v1/config/export/").json()
    assert not any(secret in json.dumps(document) for secret in SECRETS)
    wipe()
    body = {"document": document, "secrets": landscape_secrets()}

    dry = client.post("/api/v1/config/import/?dry_run=1", body, format="json")
    assert dry.status_code == 200
    assert dry.json()["dry_run"] is True and dry.json()["summary"]["create"] == 9
    assert not Queue.objects.exists()

    applied = client.post("/api/v1/config/import/", body, format="json")
    assert applied.status_code == 200 and applied.json()["applied"] is True
    assert not any(secret in applied.content.decode() for secret in SECRETS)

    again = client.post("/api/v1/config/import/", body, format="json").json()
    assert {o["action"] for o in again["objects"]} == {"unchanged"}
    assert without_time(client.get("/api/v1/config/export/").json()) == without_time(document)


def test_api_takes_a_bare_document_and_maps_apps() -> None:
    build_landscape()
    client = _api(_staff("import_configuration", "export_configuration"))
    document = client.get("/api/v1/config/export/").json()
    wipe()

    response = client.post("/api/v1/config/import/", document, format="json")

    assert response.status_code == 200
    assert len(response.json()["secrets_missing"]) == 6
    assert not MessagingService.objects.get(name="Sinch EU").enabled


def test_api_validation_error_is_400_naming_object_and_field() -> None:
    build_landscape()
    client = _api(_staff("import_configuration"))
    document = config_export()
    document["agents"][0]["email"] = "not an address"

    response = client.post("/api/v1/config/import/", {"document": document}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"object": "agent “Ann”", "field": "email", "messages": ["Enter a valid email address."]}
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "named"),
    [
        (b"{not json", "application/json", "detail"),
        (
            json.dumps({"document": {"format": "configurator-config", "version": 9}}),
            "application/json",
            "version",
        ),
        (json.dumps({"document": {"format": "x", "version": 1}}), "application/json", "format"),
        (json.dumps({"document": {}, "map_app": {"a b": "C"}}), "application/json", "map_app"),
    ],
)
def test_api_refuses_malformed_requests_with_400(body: Any, content_type: str, named: str) -> None:
    client = _api(_staff("import_configuration"))

    response = client.generic("POST", "/api/v1/config/import/", body, content_type=content_type)

    assert response.status_code == 400
    assert named in response.content.decode()


def test_api_refuses_a_body_too_large_with_413(settings: Any) -> None:
    settings.CONFIG_IMPORT_MAX_BYTES = 1000
    client = _api(_staff("import_configuration"))

    response = client.post("/api/v1/config/import/", {"document": {"x": "y" * 2000}}, format="json")

    assert response.status_code == 413
    assert "CONFIG_IMPORT_MAX_BYTES" in response.json()["detail"]


def test_api_import_takes_a_document_larger_than_other_requests_may_be(settings: Any) -> None:
    build_landscape()
    document = config_export()
    wipe()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(json.dumps(document)) // 2
    client = _api(_staff("import_configuration"))

    response = client.post("/api/v1/config/import/", document, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["applied"]


def test_a_disabled_service_is_enabled_only_once_its_secrets_are_entered() -> None:
    build_landscape()
    document = config_export()
    wipe()
    client = _api(User.objects.create_superuser("root", "r@example.com", "root-pass-123"))
    client.post("/api/v1/config/import/", {"document": document}, format="json")
    service = MessagingService.objects.get(name="Sinch BR")
    url = f"/api/v1/messaging-services/{service.pk}/"

    refused = client.patch(url, {"enabled": True}, format="json")
    assert refused.status_code == 400
    assert "then enable the service" in json.dumps(refused.json()["enabled"])

    entries = [
        {**entry, "secret": "now-entered"} for entry in client.get(url).json()["authentications"]
    ]
    for entry in entries:
        entry.pop("has_secret", None)
    enabled = client.patch(url, {"enabled": True, "authentications": entries}, format="json")
    assert enabled.status_code == 200, enabled.json()
    assert enabled.json()["enabled"] is True


# --- Admin page ------------------------------------------------------------------------------


def test_admin_page_is_linked_from_system_management_for_those_allowed(
    admin_client_: Client,
) -> None:
    index = admin_client_.get("/admin/").content.decode()
    assert "/admin/configurator/configurationtransfer/" in index

    viewer = Client()
    viewer.force_login(_staff("view_queue"))
    assert "configurationtransfer" not in viewer.get("/admin/").content.decode()
    assert viewer.get("/admin/configurator/configurationtransfer/").status_code == 403


def test_admin_export_downloads_the_document(admin_client_: Client) -> None:
    build_landscape()

    response = admin_client_.get("/admin/configurator/configurationtransfer/export/")

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    document = json.loads(response.content)
    assert without_time(document) == without_time(config_export())


def test_admin_import_previews_then_applies_the_same_document(admin_client_: Client) -> None:
    build_landscape()
    text = json.dumps(config_export()).encode()
    wipe()
    url = "/admin/configurator/configurationtransfer/"

    preview = admin_client_.post(
        url,
        {
            "document": SimpleUploadedFile("config.json", text),
            "secrets": SimpleUploadedFile("secrets.json", json.dumps(landscape_secrets()).encode()),
            "preview": "Preview",
        },
    )
    page = preview.content.decode()
    assert "Preview: nothing is written yet" in page and "queue “Sales”" in page
    assert not Queue.objects.exists()
    assert not any(secret in page for secret in SECRETS)
    carried = preview.context["form"].initial["carried"]

    applied = admin_client_.post(url, {"carried": carried, "apply": "Apply"})

    page = applied.content.decode()
    assert "Imported" in page
    assert "enter the secret of" in page  # the secrets file was not chosen again
    assert Queue.objects.filter(name="Sales").exists()
    assert not MessagingService.objects.get(name="Sinch EU").enabled


def test_admin_import_shows_errors_and_refusals(admin_client_: Client) -> None:
    url = "/admin/configurator/configurationtransfer/"

    refused = admin_client_.post(
        url,
        {
            "document": SimpleUploadedFile("x.json", b'{"format": "x", "version": 1}'),
            "preview": "1",
        },
    )
    assert "not a configuration document" in refused.content.decode()

    broken = admin_client_.post(
        url, {"document": SimpleUploadedFile("x.json", b"{broken"), "map_app": "nope"}
    )
    assert broken.status_code == 200
    assert "is not JSON" in broken.content.decode()


def test_export_command_refuses_an_unwritable_output_and_an_unportable_reference(
    tmp_path: Path,
) -> None:
    from conversations.models import Agent
    from tests.factories import make_integration

    build_landscape()
    with pytest.raises(CommandError, match="No such file or directory"):
        call_command("config_export", "--output", str(tmp_path / "missing" / "x.json"))
    bob = Agent.objects.get(name="Bob")
    make_integration(
        "Router",
        events=["received"],
        configuration={
            "request": {"method": "POST"},
            "response": {"set": {"preferredAgent": bob.pk}},
        },
    )

    with pytest.raises(CommandError, match="Router"):
        call_command("config_export", "--output", str(tmp_path / "x.json"))
    response = _api(_staff("export_configuration")).get("/api/v1/config/export/")
    assert response.status_code == 409
    assert "Router" in response.json()["errors"][0]


def test_admin_apply_of_a_document_larger_than_a_form_may_be_keeps_it_server_side(
    admin_client_: Client, settings: Any
) -> None:
    build_landscape()
    text = json.dumps(config_export()).encode()
    wipe()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(text) // 2  # files are not held to it, fields are
    url = "/admin/configurator/configurationtransfer/"
    preview = admin_client_.post(
        url, {"document": SimpleUploadedFile("config.json", text), "preview": "Preview"}
    )
    carried = preview.context["form"].initial["carried"]
    assert len(carried) == 64  # the document's SHA-256, not the document

    applied = admin_client_.post(url, {"carried": carried, "apply": "Apply"})

    assert applied.status_code == 200 and "Imported" in applied.content.decode()
    assert Queue.objects.filter(name="Sales").exists()
    again = admin_client_.post(url, {"carried": carried, "apply": "Apply"})
    assert "Choose the document file again" in again.content.decode()


def test_admin_preview_shows_warnings_and_unused_secrets(admin_client_: Client) -> None:
    build_landscape()
    document = config_export()
    spare = next(q for q in document["queues"] if q["name"] == "Spare")
    spare.update(overflow_queue="Sales", max_waiting_time=60)

    preview = admin_client_.post(
        "/admin/configurator/configurationtransfer/",
        {
            "document": SimpleUploadedFile("config.json", json.dumps(document).encode()),
            "secrets": SimpleUploadedFile(
                "secrets.json", json.dumps({"services": {"Nowhere": {"webhook": "w"}}}).encode()
            ),
            "preview": "Preview",
        },
    )

    page = preview.content.decode()
    assert 'id="transfer-warnings"' in page and "Overflow goes round in a circle" in page
    assert 'id="transfer-secrets-unused"' in page and "“Nowhere”" in page
