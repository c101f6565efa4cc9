"""An administrator changes a queue and disables an integration, then finds both in the
integration's History and in the audit trail, filtered, with the diff of each."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from configurator.models import AuditEntry
from tests.e2e.conftest import screenshot
from tests.e2e.test_admin_layout import _sideways
from tests.factories import make_integration, make_queue

pytestmark = pytest.mark.e2e


def test_administrator_reads_what_changed_in_history_and_the_audit_trail(
    laptop: Page, live_server: object
) -> None:
    page = laptop
    queue = make_queue("Support", ["01E4556565565ERKYO@whatsapp"])
    integration = make_integration(
        "CRM events", queues=[queue], authentications={"basic:crm": "crm-password-1"}
    )

    page.goto(f"{live_server}/admin/queues/queue/{queue.pk}/change/")
    page.fill("#id_name", "Customer support")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("Customer support")

    page.goto(f"{live_server}/admin/integrations/integration/{integration.pk}/change/")
    page.get_by_role("button", name="Disable").first.click()
    expect(page.locator(".messagelist")).to_contain_text("disabled")

    page.goto(f"{live_server}/admin/integrations/integration/{integration.pk}/history/")
    history = page.locator("#change-history")
    expect(history).to_contain_text("Disable")
    expect(history.locator(".audit-diff").first).to_contain_text("Enabled")
    expect(history).to_contain_text("admin")
    assert "crm-password-1" not in page.content()
    screenshot(page, "audit-integration-history")
    assert not _sideways(page)

    page.goto(f"{live_server}/admin/configurator/auditentry/")
    expect(page.locator("#result_list")).to_contain_text("Customer support")
    page.locator("#changelist-filter").get_by_role("link", name="Disable", exact=True).click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("CRM events")
    screenshot(page, "audit-trail-filtered")
    assert not _sideways(page)

    rows.first.locator("th a").click()
    expect(page.locator(".audit-diff")).to_contain_text("Enabled")
    expect(page.locator("input[name=_save]")).to_have_count(0)
    screenshot(page, "audit-entry")
    assert not _sideways(page)

    entry = AuditEntry.objects.get(operation="disable")
    assert (entry.via, entry.actor.username if entry.actor else None) == ("admin", "admin")
