"""The project's documentation, linked from the admin's forms and served read-only by the admin.

The Markdown files of a source checkout (README.md and docs/*.md) are the documentation; the
admin serves them at /admin/docs/<name>/ rendered to HTML, so that what a form links to is
the text of the running version, with no network access and no new dependency. The renderer
knows the part of Markdown these files use (headings, paragraphs, lists, tables, fenced code,
inline code, emphasis, links) and escapes everything else: nothing in a file becomes markup it
did not ask for, and a link goes only to http(s), an anchor or another page of the docs. An
installed copy has no docs/ (the wheel carries the packages only): set DOCS_BASE_URL and the
links lead there instead (docs/deployment.md).

`DOCS_LINKS` is the one table of which pages each admin form links to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from configurator.paths import BASE_DIR, SOURCE_CHECKOUT

DOCS_DIR = BASE_DIR / "docs"
README = BASE_DIR / "README.md"
# A page's name: a file of docs/ without ".md", or "readme".
PAGE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class DocsLink:
    """A link from an admin page to a section of a documentation page."""

    title: Any
    page: str
    anchor: str = ""


# Which documentation each admin form links to, by (app label, model name).
DOCS_LINKS: dict[tuple[str, str], list[DocsLink]] = {
    ("messaging", "messagingservice"): [
        DocsLink(_("Connect Sinch"), "readme", "connect-sinch-with-the-setup-doctor"),
        DocsLink(_("The setup doctor"), "admin-doctor", "the-setup-doctor-admin"),
        DocsLink(_("Messaging services"), "architecture", "messaging-services"),
        DocsLink(_("The webhook path"), "architecture", "the-webhook-path"),
        DocsLink(_("Secrets"), "architecture", "secrets"),
    ],
    ("messaging", "callback"): [
        DocsLink(_("The webhook path"), "architecture", "the-webhook-path"),
        DocsLink(_("Retention"), "deployment", "retention"),
    ],
    ("queues", "queue"): [DocsLink(_("Queues and routing"), "architecture", "queues-and-routing")],
    ("conversations", "contact"): [
        DocsLink(
            _("Conversations and the lifecycle"),
            "architecture",
            "conversations-and-the-lifecycle",
        ),
        DocsLink(_("Outbound chats"), "outbound-chats", "starting-one"),
    ],
    ("conversations", "agent"): [
        DocsLink(
            _("Conversations and the lifecycle"),
            "architecture",
            "conversations-and-the-lifecycle",
        ),
        DocsLink(_("Outbound chats"), "outbound-chats", "starting-one"),
    ],
    ("integrations", "integration"): [
        DocsLink(_("The integration"), "integrations", "the-integration"),
        DocsLink(_("The JSON configuration"), "integrations", "the-json-configuration"),
        DocsLink(_("Placeholders"), "integrations", "placeholders"),
        DocsLink(_("Conditions"), "integrations", "conditions"),
        DocsLink(_("Authentications"), "integrations", "authentications"),
        DocsLink(_("Versions and restore"), "governance", "integration-versions"),
    ],
    ("integrations", "delivery"): [
        DocsLink(_("Deliveries"), "integrations", "deliveries"),
        DocsLink(_("Retention"), "deployment", "retention"),
    ],
    ("configurator", "apitoken"): [DocsLink(_("REST API"), "api", "authentication")],
    ("auth", "user"): [DocsLink(_("Roles"), "governance", "roles")],
    ("auth", "group"): [DocsLink(_("Roles"), "governance", "roles")],
}


def page_path(name: str) -> Path | None:
    """The Markdown file of a page name, or None when there is no such page here."""
    # An installed copy's BASE_DIR is site-packages, whose docs/ (if any) is someone else's.
    if not SOURCE_CHECKOUT or not PAGE_NAME.match(name):
        return None
    path = README if name == "readme" else DOCS_DIR / f"{name}.md"
    return path if path.is_file() else None


def page_url(name: str, anchor: str = "") -> str:
    """Where a page (and a section of it) is read: DOCS_BASE_URL, or this admin."""
    fragment = f"#{anchor}" if anchor else ""
    base = str(getattr(settings, "DOCS_BASE_URL", "") or "")
    if base:
        file = "README.md" if name == "readme" else f"docs/{name}.md"
        return f"{base.rstrip('/')}/{file}{fragment}"
    return reverse("admin:docs", args=[name]) + fragment


def links_for(app_label: str, model_name: str) -> list[tuple[str, Any]]:
    """(URL, title) of the documentation an admin page of the model links to."""
    return [
        (page_url(link.page, link.anchor), link.title)
        for link in DOCS_LINKS.get((app_label, model_name), [])
    ]


# --- Rendering ------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```+|~~~+)")
_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_INLINE = re.compile(
    r"(?P<code>`+)(?P<code_text>.+?)(?P=code)"
    r"|\[(?P<link_text>[^\]]+)\]\((?P<link_url>[^)\s]+)\)"
    r"|\*\*(?P<strong>[^*]+?)\*\*"
    r"|(?<![\w*])\*(?P<em>[^*\s][^*]*?)\*(?![\w*])"
)


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it, so that the files' own links work here too."""
    text = re.sub(r"`|\[|\]\([^)]*\)", "", heading).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", text))


def render(markdown: str) -> SafeString:
    """A documentation file as HTML (the part of Markdown the docs use; the rest is text)."""
    lines = markdown.splitlines()
    blocks: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif fence := _FENCE.match(line):
            end = i + 1
            while end < len(lines) and not lines[end].strip().startswith(fence.group(1)):
                end += 1
            blocks.append(f"<pre><code>{escape(chr(10).join(lines[i + 1 : end]))}</code></pre>")
            i = end + 1
        elif heading := _HEADING.match(line):
            level, text = len(heading.group(1)), heading.group(2)
            blocks.append(f'<h{level} id="{escape(slug(text))}">{_inline(text)}</h{level}>')
            i += 1
        elif (
            line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1])
        ):
            end = i + 2
            while end < len(lines) and lines[end].lstrip().startswith("|"):
                end += 1
            blocks.append(_table(lines[i], lines[i + 2 : end]))
            i = end
        elif _ITEM.match(line):
            end = i + 1
            while end < len(lines) and (
                _ITEM.match(lines[end]) or (lines[end].startswith(" ") and lines[end].strip())
            ):
                end += 1
            blocks.append(_list(lines[i:end]))
            i = end
        else:
            end = i + 1
            while end < len(lines) and _continues_paragraph(lines[end]):
                end += 1
            blocks.append(f"<p>{_inline(' '.join(x.strip() for x in lines[i:end]))}</p>")
            i = end
    return mark_safe("\n".join(blocks))  # noqa: S308 - every piece of text above is escaped


def _continues_paragraph(line: str) -> bool:
    return bool(
        line.strip()
        and not _HEADING.match(line)
        and not _FENCE.match(line)
        and not _ITEM.match(line)
        and not line.lstrip().startswith("|")
    )


def _list(lines: list[str]) -> str:
    """Items (nested by indentation) as <ul>/<ol>; a continuation line joins its item."""
    items: list[tuple[int, bool, str]] = []
    for line in lines:
        if item := _ITEM.match(line):
            items.append((len(item.group(1)), item.group(2)[0].isdigit(), item.group(3)))
        elif items:
            indent, ordered, text = items[-1]
            items[-1] = (indent, ordered, f"{text} {line.strip()}")
    html, position = [], 0
    while position < len(items):
        part, position = _nested(items, position)
        html.append(part)
    return "".join(html)


def _nested(items: list[tuple[int, bool, str]], start: int) -> tuple[str, int]:
    """The list that starts at `start`, with the deeper items under their item; and where the
    next list starts."""
    indent, ordered = items[start][0], items[start][1]
    entries: list[str] = []
    position = start
    while position < len(items) and items[position][0] >= indent:
        if items[position][0] > indent:
            child, position = _nested(items, position)
            entries[-1] = entries[-1].removesuffix("</li>") + child + "</li>"
            continue
        entries.append(f"<li>{_inline(items[position][2])}</li>")
        position += 1
    tag = "ol" if ordered else "ul"
    return f"<{tag}>{''.join(entries)}</{tag}>", position


def _cells(row: str) -> list[str]:
    """A table row's cells; a `|` inside inline code is text, not a border."""
    cells, current, in_code = [], "", False
    for char in row.strip().strip("|"):
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(current.strip())
            current = ""
        else:
            current += char
    cells.append(current.strip())
    return cells


def _table(head: str, rows: list[str]) -> str:
    header = "".join(f"<th>{_inline(cell)}</th>" for cell in _cells(head))
    body = "".join(
        "<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in _cells(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _inline(text: str) -> str:
    """Inline code, links, strong and emphasis; all other text escaped."""
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(str(escape(text[position : match.start()])))
        if match.group("code"):
            out.append(f"<code>{escape(match.group('code_text').strip())}</code>")
        elif match.group("link_text"):
            out.append(_link(match.group("link_text"), match.group("link_url")))
        elif match.group("strong"):
            out.append(f"<strong>{_inline(match.group('strong'))}</strong>")
        else:
            out.append(f"<em>{_inline(match.group('em'))}</em>")
        position = match.end()
    out.append(str(escape(text[position:])))
    return "".join(out)


def _link(text: str, url: str) -> str:
    """A link the docs may make: to http(s), an anchor, or another documentation page."""
    target = _target(url)
    label = _inline(text)
    if target is None:
        return label
    return str(format_html('<a href="{}">{}</a>', target, mark_safe(label)))  # noqa: S308


def _target(url: str) -> str | None:
    if url.startswith(("https://", "http://")):
        return url
    if url.startswith("#"):
        return url
    path, _hash, anchor = url.partition("#")
    name = Path(path).name
    if name == "README.md":
        return page_url("readme", anchor)
    if name.endswith(".md") and page_path(name[:-3]) is not None:
        return page_url(name[:-3], anchor)
    return None


def page_title(markdown: str, name: str) -> str:
    """The first heading of a page, else its name."""
    for line in markdown.splitlines():
        if heading := _HEADING.match(line):
            return re.sub(r"`", "", heading.group(2))
    return name


def page_index() -> list[tuple[str, str]]:
    """(name, URL) of every documentation page of this checkout."""
    if not SOURCE_CHECKOUT:
        return []
    names = ["readme"] if README.is_file() else []
    if DOCS_DIR.is_dir():
        names += sorted(p.stem for p in DOCS_DIR.glob("*.md") if PAGE_NAME.match(p.stem))
    return [(name, page_url(name)) for name in names]


def docs_links_html(app_label: str, model_name: str) -> SafeString | str:
    """The "Documentation:" line of an admin page, or nothing."""
    links = links_for(app_label, model_name)
    if not links:
        return ""
    return format_html(
        '<p class="docs-links">{} {}</p>',
        _("Documentation:"),
        format_html_join(" · ", '<a href="{}" target="_blank" rel="noopener">{}</a>', links),
    )
