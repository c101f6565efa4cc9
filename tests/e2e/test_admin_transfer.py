"""An administrator moves the configuration to an empty landscape from the admin: downloads the
export, uploads it with the secrets and an app mapping, previews the plan, applies it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from messaging.models import MessagingService
from queues.models import Queue
from tests.e2e.conftest import screenshot
from tests.transfer.landscape import EU_APP, build_landscape, landscape_secrets, wipe

pytestmark = pytest.mark.e2e
US_APP = "01US0000000000000000000000"


def test_administrator_exports_previews_and_applies_an_import(
    admin_login: Page, live_server: object, tmp_path: Path
) -> None:
    page = admin_login
    page.set_viewport_size({"width": 1366, "height": 768})
    build_landscape()
    page.goto(f"{live_server}/admin/")
    page.get_by_role("link", name="Configuration export and import").click()

    with page.expect_download() as downloading:
        page.click("#transfer-export")
    exported = tmp_path / "configuration.json"
    downloading.value.save_as(exported)
    assert json.loads(exported.read_text())["format"] == "configurator-config"
    wipe()
    secrets = landscape_secrets()
    eu = secrets["services"]["Sinch EU"]
    eu[f"3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11@{US_APP}"] = eu.pop(
        f"3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11@{EU_APP}"
    )
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps(secrets))

    page.set_input_files("#id_document", str(exported))
    page.set_input_files("#id_secrets", str(secrets_file))
    page.fill("#id_map_app", f"{EU_APP}={US_APP}")
    page.get_by_role("button", name="Preview").click()

    expect(page.locator("#transfer-plan h2")).to_have_text("Preview: nothing is written yet")
    expect(page.locator("#transfer-summary")).to_contain_text("9 to create")
    expect(page.locator("#transfer-objects")).to_contain_text("queue “Sales”")
    screenshot(page, "transfer-preview")
    assert not Queue.objects.exists()

    # Apply the previewed document; the secrets file is chosen again (never kept in the page).
    page.set_input_files("#id_secrets", str(secrets_file))
    page.get_by_role("button", name="Apply").click()

    expect(page.locator("#transfer-plan h2")).to_have_text("Imported")
    screenshot(page, "transfer-applied")
    service = MessagingService.objects.get(name="Sinch EU")
    assert service.enabled
    assert US_APP in set(service.authentications.values_list("app_id", flat=True))
    assert Queue.objects.get(name="Sales").addresses.filter(app_id=US_APP).count() == 2
