"""An administrator sets up a listener from a preset, fixes a typo, copies, disables and
resumes integrations, and test-runs one."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from integrations.models import Integration
from tests.e2e.conftest import screenshot
from tests.factories import make_integration, make_queue
from tests.httpsink import HttpsSink, SinkAnswer

pytestmark = pytest.mark.e2e


def _add_authentication(page: Page, index: int, authentication_id: str, secret: str) -> None:
    page.fill(f"#id_authentications-{index}-authentication_id", authentication_id)
    page.fill(f"#id_authentications-{index}-secret", secret)


def test_administrator_creates_fixes_copies_and_disables_an_integration(
    admin_login: Page, live_server: object
) -> None:
    page = admin_login
    make_queue("Support", ["01E4556565565ERKYO@whatsapp"])
    make_queue("Hotline", ["+3581234"], channel_type="phone")

    page.goto(f"{live_server}/admin/integrations/integration/add/")
    expect(page.locator("#content")).to_contain_text("Which conversations is the integration for?")
    page.get_by_role("link", name="Chat", exact=True).click()

    page.fill("#id_name", "Lifecycle listener")
    page.fill("#id_endpoint_url", "https://hooks.example.com/contact-pro-events/{event}")
    expect(page.locator("#id_configuration")).to_have_value("")
    page.select_option("#preset-select", "listen-all")
    expect(page.locator(".preset-description")).to_contain_text("basic:<username>, api-key")
    expect(page.locator("#id_configuration")).to_have_value(
        '{\n  "request": {\n    "authentication": {\n      "type": "basic"\n    },\n'
        '    "method": "POST",\n    "headers": {\n'
        '      "x-api-key": "{authentications.api-key}"\n    },\n'
        '    "body": {\n      "event": "{event}",\n      "contact": "{contact}"\n    }\n  }\n}'
    )
    expect(page.locator("input[name=events][value=abandoned]")).to_be_checked()
    expect(page.locator("#id_direction")).to_have_value("both")
    # Queues are chosen by searching, each labelled with its channel type.
    page.locator(".field-queues .select2-selection").click()
    page.locator(".field-queues .select2-search__field").fill("o")
    expect(page.locator(".select2-results__option", has_text="Hotline (Phone)")).to_be_visible()
    page.locator(".select2-results__option", has_text="Support (Chat)").click()

    add_row = page.locator("#authentications-group .add-row a")
    add_row.click()
    add_row.click()
    _add_authentication(page, 0, "basic:contactpro", "basic-password-1")
    _add_authentication(page, 1, "api-key", "api-key-secret-1")

    # A typo in the placeholder: the error names its JSON path, the text stays as typed.
    typo = page.locator("#id_configuration").input_value().replace("api-key}", "api-kye}")
    page.fill("#id_configuration", typo)
    page.click('input[name="_save"]')
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator("#id_configuration_error")).to_contain_text(
        'request.headers.x-api-key: unknown authentication "api-kye"; '
        "defined: basic:contactpro, api-key"
    )
    expect(page.locator("#id_configuration")).to_have_value(typo)
    screenshot(page, "integration-typo")
    assert not Integration.objects.exists()

    page.fill("#id_configuration", typo.replace("api-kye}", "api-key}"))
    # Secrets are never sent back to the browser: enter them again.
    page.fill("#id_authentications-0-secret", "basic-password-1")
    page.fill("#id_authentications-1-secret", "api-key-secret-1")
    page.click('input[name="_save"]')
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    row = page.locator("#result_list tbody tr", has_text="Lifecycle listener")
    expect(row).to_contain_text("Received, Queued, Allocated")
    expect(row.locator("td.field-scope")).to_have_text("Support")
    screenshot(page, "integrations-list")
    integration = Integration.objects.get()
    assert integration.authentications.count() == 2

    row.get_by_role("link", name="Lifecycle listener").click()
    page.get_by_role("button", name="Copy").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Copied as “Lifecycle listener (copy)”, without authentications and disabled"
    )
    expect(page.locator(".messagelist")).to_contain_text(
        'unknown authentication "api-key"; defined: none'
    )
    expect(page.locator("#id_name")).to_have_value("Lifecycle listener (copy)")
    screenshot(page, "integration-copy")

    page.goto(f"{live_server}/admin/integrations/integration/{integration.pk}/change/")
    page.get_by_role("button", name="Disable").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "“Lifecycle listener” disabled: it does not fire; its events are kept for Enable."
    )
    expect(page.locator("input[name=events]:checked")).to_have_count(9)
    expect(page.get_by_role("button", name="Enable")).to_be_visible()
    integration.refresh_from_db()
    assert len(integration.events) == 9 and not integration.enabled
    copy = Integration.objects.get(name="Lifecycle listener (copy)")
    assert not copy.authentications.exists()


def test_administrator_runs_a_test_of_an_integration_and_reads_each_step(
    admin_login: Page, live_server: object, https_sink: HttpsSink
) -> None:
    page = admin_login
    queue = make_queue("Support", ["01E4556565565ERKYO@whatsapp"])
    integration = make_integration(
        "Customer lookup",
        queues=[queue],
        endpoint_url=f"{https_sink.url}/customers/{{contact.source}}",
        events=["received"],
        configuration={
            "request": {"method": "GET", "headers": {"x-api-key": "{authentications.api-key}"}},
            "response": {"set": {"priority": "{response.body.priority}"}},
        },
        authentications={"api-key": "browser-secret-123"},
    )
    https_sink.default = SinkAnswer(body={"priority": 5})

    page.goto(f"{live_server}/admin/integrations/integration/{integration.pk}/change/")
    page.get_by_role("link", name="Test", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Test “Customer lookup”")
    page.select_option("#id_event", "received")
    page.check("#id_live")
    page.get_by_role("button", name="Run test").click()

    steps = page.locator("li.test-step")
    expect(steps).to_have_count(4)
    expect(steps.nth(0)).to_contain_text("match")
    expect(steps.nth(0)).to_contain_text("fires")
    expect(steps.nth(1)).to_contain_text(f"GET {https_sink.url}/customers/46700000000")
    expect(steps.nth(1)).to_contain_text('"x-api-key": "********"')
    expect(steps.nth(2)).to_contain_text("answered 200")
    expect(steps.nth(3)).to_contain_text("would change: priority → 5")
    screenshot(page, "integration-test-run")
    assert "browser-secret-123" not in page.content()
    assert len(https_sink.requests) == 1
    assert https_sink.requests[0].headers["x-api-key"] == "browser-secret-123"


def test_administrator_resumes_a_paused_integration(admin_login: Page, live_server: object) -> None:
    page = admin_login
    queue = make_queue("Support", ["01E4556565565ERKYO@whatsapp"])
    integration = make_integration("Order sync", queues=[queue], events=["ended"])
    Integration.objects.filter(pk=integration.pk).update(
        paused_at=timezone.now(),
        paused_reason="20 deliveries in a row failed",
        consecutive_failures=20,
    )

    page.goto(f"{live_server}/admin/integrations/integration/")
    row = page.locator("#result_list tbody tr", has_text="Order sync")
    expect(row.locator("td.field-state")).to_have_text("enabled, paused")
    expect(row).to_contain_text("20 deliveries in a row failed")
    row.get_by_role("link", name="Order sync").click()
    expect(page.get_by_role("button", name="Disable")).to_be_visible()
    screenshot(page, "integration-paused")
    page.get_by_role("button", name="Resume").click()

    expect(page.locator(".messagelist")).to_contain_text(
        "“Order sync” resumed: the pause is lifted and its failures count from zero."
    )
    expect(page.get_by_role("button", name="Resume")).to_have_count(0)
    integration.refresh_from_db()
    assert integration.fires and integration.consecutive_failures == 0
