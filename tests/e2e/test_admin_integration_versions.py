"""An integration developer edits an integration, breaks it, reads the diff of the versions and
restores the one before (docs/governance.md, "Integration versions")."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from configurator.roles import INTEGRATION_DEVELOPER, roles_apply
from integrations.models import Integration
from tests.e2e.conftest import screenshot
from tests.factories import make_integration, make_queue

pytestmark = pytest.mark.e2e

PASSWORD = "developer-pass-123"
SECRET = "developer-secret-kept-1"
CONFIGURATION = {
    "request": {
        "method": "POST",
        "headers": {"x-api-key": "{authentications.api-key}"},
        "body": {"event": "{event}", "contact": "{contact.id}"},
    }
}


def _integration_developer() -> User:
    """A user given the Integration developer role (a transactional test's flush took the
    migration's groups away: they are made again as the migration makes them)."""
    roles_apply()
    user = User.objects.create_user("developer", "dev@example.com", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=INTEGRATION_DEVELOPER))
    return user


def test_integration_developer_breaks_an_integration_and_restores_the_version_before(
    page: Page, live_server: object, transactional_db: None
) -> None:
    queue = make_queue("Support", ["01E4556565565ERKYO@whatsapp"])
    integration = make_integration(
        "CRM sync",
        queues=[queue],
        endpoint_url="https://crm.example.com/contacts/{contact.id}",
        events=["queued", "ended"],
        configuration=CONFIGURATION,
        authentications={"api-key": SECRET},
    )
    _integration_developer()
    page.goto(f"{live_server}/admin/login/?next=/admin/")
    page.fill("#id_username", "developer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/admin/")

    # The edit that breaks it: a wrong address and a condition that never holds; both valid.
    page.goto(f"{live_server}/admin/integrations/integration/{integration.pk}/change/")
    page.fill("#id_endpoint_url", "https://crm.example.com/contactz/{contact.id}")
    broken = {"request": {**CONFIGURATION["request"], "condition": 'contact.source == "nobody"'}}
    page.fill("#id_configuration", json.dumps(broken, indent=2))
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.locator(".object-tools").get_by_role("link", name="Versions", exact=True).click()
    rows = page.locator("#version-list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("developer")
    expect(rows.nth(0)).to_contain_text("admin")
    expect(rows.nth(0)).to_contain_text("endpoint URL, JSON for configuration")
    expect(rows.nth(1)).to_contain_text("first version")
    screenshot(page, "integration-versions")

    page.get_by_role("button", name="Compare").click()
    expect(page.locator("h2")).to_contain_text("Changes from version 1 to version 2")
    fields = page.locator("#version-diff-fields")
    expect(fields).to_contain_text("https://crm.example.com/contacts/{contact.id}")
    expect(fields).to_contain_text("https://crm.example.com/contactz/{contact.id}")
    # The condition added (and a comma after the body before it); nothing removed but that "}".
    added = page.locator("#version-diff-configuration .diff-added")
    expect(added).to_have_text(["+    },", '+    "condition": "contact.source == \\"nobody\\""'])
    expect(page.locator("#version-diff-configuration .diff-removed")).to_have_text(["-    }"])
    screenshot(page, "integration-versions-diff")

    page.get_by_role("link", name="Restore version 1").click()
    expect(page.locator("#content-main")).to_contain_text("becomes what version 1 was")
    screenshot(page, "integration-versions-restore")
    page.get_by_role("button", name="Yes, restore version 1").click()

    expect(page.locator(".messagelist")).to_contain_text(
        "Version 1 of “CRM sync” restored, as version 3."
    )
    expect(page.locator("#id_endpoint_url")).to_have_value(
        "https://crm.example.com/contacts/{contact.id}"
    )
    screenshot(page, "integration-versions-restored")
    integration = Integration.objects.get(pk=integration.pk)
    assert integration.configuration == CONFIGURATION
    assert integration.authentications.get().secret.reveal() == SECRET
    assert list(integration.versions.values_list("number", "restored_from")) == [
        (3, 1),
        (2, None),
        (1, None),
    ]
