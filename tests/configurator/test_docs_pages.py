"""The admin's links to the documentation, and the documentation pages it serves."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from configurator import docs_pages
from configurator.docs_pages import DOCS_LINKS, render, slug


def test_every_link_of_the_forms_leads_to_a_section_that_exists(admin_client_: Client) -> None:
    for links in DOCS_LINKS.values():
        for link in links:
            response = admin_client_.get(f"/admin/docs/{link.page}/")
            assert response.status_code == 200, link
            assert f'id="{link.anchor}"' in response.content.decode(), link


@pytest.mark.parametrize(
    ("path", "linked"),
    [
        ("/admin/messaging/messagingservice/add/", "/admin/docs/architecture/#messaging-services"),
        ("/admin/queues/queue/add/", "/admin/docs/architecture/#queues-and-routing"),
        (
            "/admin/integrations/integration/add/?channel_type=chat",
            "/admin/docs/integrations/#the-json-configuration",
        ),
        ("/admin/conversations/agent/add/", "/admin/docs/architecture/#conversations-and-the"),
    ],
)
def test_forms_link_to_their_documentation(admin_client_: Client, path: str, linked: str) -> None:
    html = admin_client_.get(path).content.decode()
    assert '<p class="docs-links">Documentation:' in html
    assert f'href="{linked}' in html


def test_the_readme_and_every_docs_page_are_served(admin_client_: Client) -> None:
    names = [name for name, _url in docs_pages.page_index()]
    assert names[0] == "readme" and {"api", "architecture", "deployment", "integrations"} <= set(
        names
    )
    for name in names:
        html = admin_client_.get(f"/admin/docs/{name}/").content.decode()
        assert '<article class="docs-text">' in html
    readme = admin_client_.get("/admin/docs/readme/").content.decode()
    # The README's links to docs/*.md lead to the served pages, anchors kept.
    assert 'href="/admin/docs/deployment/#the-lock"' in readme
    assert "<title>Configurator | System Configurator</title>" in readme


@pytest.mark.parametrize("name", ["nothing", "README", "..", "api.md", "x" * 70])
def test_only_documentation_pages_are_served(admin_client_: Client, name: str) -> None:
    assert admin_client_.get(f"/admin/docs/{name}/").status_code == 404


def test_documentation_needs_a_staff_login(db: None) -> None:
    response = Client().get("/admin/docs/api/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@override_settings(DOCS_BASE_URL="https://docs.example.com/configurator/v1/")
def test_links_go_to_docs_base_url_when_set(admin_client_: Client) -> None:
    html = admin_client_.get("/admin/queues/queue/add/").content.decode()
    assert (
        'href="https://docs.example.com/configurator/v1/docs/architecture.md#queues-and-routing"'
        in html
    )


def test_headings_get_github_anchors() -> None:
    assert slug("Messaging services `/api/v1/messaging-services/`") == (
        "messaging-services-apiv1messaging-services"
    )
    assert slug("Copy, Disable, Enable, Resume") == "copy-disable-enable-resume"
    assert render("## The lock").startswith('<h2 id="the-lock">The lock</h2>')


def test_the_renderer_escapes_what_is_not_markdown() -> None:
    html = render(
        "<script>alert(1)</script> and [x](javascript:alert(1)) and [y](../secret.txt)\n"
        "\n`<b>` **bold <i>** [ok](https://example.com/a?b=1&c=2) [here](#there)"
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<a" not in html.split("<p>", 2)[1]  # neither javascript: nor a file is linked
    assert "<code>&lt;b&gt;</code>" in html
    assert "<strong>bold &lt;i&gt;</strong>" in html
    assert '<a href="https://example.com/a?b=1&amp;c=2">ok</a>' in html
    assert '<a href="#there">here</a>' in html


def test_the_renderer_knows_lists_tables_and_code() -> None:
    html = render(
        "- one\n  continued\n  - nested `a|b`\n- two\n\n"
        "1. first\n2. second\n\n"
        "| name | value |\n|---|---|\n| `{eu|us}` | x |\n\n"
        "```sh\nscripts/run <port>\n```\n"
    )
    assert (
        "<ul><li>one continued<ul><li>nested <code>a|b</code></li></ul></li><li>two</li></ul>"
        in (html)
    )
    assert "<ol><li>first</li><li>second</li></ol>" in html
    assert "<td><code>{eu|us}</code></td><td>x</td>" in html
    assert "<pre><code>scripts/run &lt;port&gt;</code></pre>" in html


def test_an_installed_copy_serves_no_documentation(
    admin_client_: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its BASE_DIR is site-packages: a docs/ there belongs to some other package."""
    monkeypatch.setattr(docs_pages, "SOURCE_CHECKOUT", False)
    assert admin_client_.get("/admin/docs/api/").status_code == 404
    assert docs_pages.page_index() == []
