"""Browser fixtures: Debian's chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are
# plain synchronous calls between page actions.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_PASSWORD = "admin-pass-123"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            headless=True, executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def admin_login(page: Page, live_server: object, transactional_db: None) -> Page:
    """A page logged in to the admin as a superuser."""
    User.objects.create_superuser("admin", "admin@example.com", ADMIN_PASSWORD)
    page.goto(f"{live_server}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/admin/")
    return page


# A common laptop screen: every admin page must fit its width (tests/e2e/test_admin_layout.py).
LAPTOP: ViewportSize = {"width": 1366, "height": 768}


@pytest.fixture
def laptop(browser: Browser, live_server: object, transactional_db: None) -> Iterator[Page]:
    """A 1366 x 768 page logged in to the admin as a superuser."""
    User.objects.create_superuser("admin", "admin@example.com", ADMIN_PASSWORD)
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(f"{live_server}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/admin/")
    yield page
    context.close()


def screenshot(page: Page, name: str) -> None:
    """Keep what the administrator saw, as an artifact of the run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
