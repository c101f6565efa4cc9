"""Imports point one way through the house (DESIGN.md, "Layout").

`configurator` ← `queues` ← `conversations` ← `integrations`, and `messaging` uses `queues` and
`conversations`; `cockpit` (the home page) and `demo` sit on top, may import every app below and
are imported by none. Every module of the six apps is parsed with `ast` (imports at module level
and inside functions alike), so an import against the direction fails here, naming the module
and the import, instead of waiting for a review.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The project's apps each app may import, besides itself.
ALLOWED: dict[str, frozenset[str]] = {
    "configurator": frozenset(),
    "queues": frozenset({"configurator"}),
    "conversations": frozenset({"configurator", "queues"}),
    "messaging": frozenset({"configurator", "queues", "conversations"}),
    "integrations": frozenset({"configurator", "queues", "conversations"}),
    # The home page reads every app; none of them (nor demo) imports it.
    "cockpit": frozenset({"configurator", "queues", "conversations", "messaging", "integrations"}),
    # Configuration export and import reads and writes every app; none of them imports it.
    "transfer": frozenset({"configurator", "queues", "conversations", "messaging", "integrations"}),
}
PROJECT_PACKAGES = frozenset({*ALLOWED, "demo"})
# An upstream app may name a downstream type for the type checker only (configurator/extensions.py
# types what the apps register): such an import never runs, so no dependency exists at run time.
TYPE_CHECKING_ALLOWED = frozenset({"configurator"})
# The project's wiring, which exists to put the apps together; nothing imports these modules.
EXEMPT = {
    # The URL map mounts every app's API routes and the Sinch webhook view.
    "configurator/urls.py",
    # The WSGI entry wraps Django in messaging's lean webhook entry (the hot path).
    "configurator/wsgi.py",
}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, *, type_checking: bool = False) -> Iterator[tuple[int, str, bool]]:
    """(line, module imported, under `if TYPE_CHECKING:`) for every absolute import in `node`."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield node.lineno, alias.name, type_checking
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        # A relative import stays inside its own package: it cannot cross apps.
        yield node.lineno, node.module, type_checking
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for statement in node.body:
            yield from _imports(statement, type_checking=True)
        for statement in node.orelse:
            yield from _imports(statement, type_checking=type_checking)
        return
    for child in ast.iter_child_nodes(node):
        yield from _imports(child, type_checking=type_checking)


def layer_violations(app: str, module: str, source: str) -> list[str]:
    """The imports of `source` (a module of `app`) that run against the direction."""
    found = []
    for line, imported, type_checking in _imports(ast.parse(source)):
        package = imported.split(".")[0]
        if package not in PROJECT_PACKAGES or package == app or package in ALLOWED[app]:
            continue
        if type_checking and app in TYPE_CHECKING_ALLOWED:
            continue
        found.append(f"{module}:{line} imports {imported} ({app} may not import {package})")
    return found


def test_no_app_imports_against_the_direction_of_the_house() -> None:
    violations = []
    for app in ALLOWED:
        for path in sorted((ROOT / app).rglob("*.py")):
            module = path.relative_to(ROOT).as_posix()
            if module not in EXEMPT:
                violations += layer_violations(app, module, path.read_text(encoding="utf-8"))

    assert not violations, "\n".join(violations)


def test_the_exempt_wiring_modules_exist() -> None:
    """An exemption left behind by a move would silently cover a new module of that name."""
    assert all((ROOT / module).is_file() for module in EXEMPT)


def test_finds_imports_at_module_level_inside_functions_and_in_type_checking_blocks() -> None:
    source = """
from typing import TYPE_CHECKING
import conversations.models
from queues.models import Queue
from . import sibling

if TYPE_CHECKING:
    from messaging.models import Callback
else:
    from integrations import services

def later():
    from demo.dataset import DemoBuilder
"""

    assert layer_violations("queues", "queues/x.py", source) == [
        "queues/x.py:3 imports conversations.models (queues may not import conversations)",
        "queues/x.py:8 imports messaging.models (queues may not import messaging)",
        "queues/x.py:10 imports integrations (queues may not import integrations)",
        "queues/x.py:13 imports demo.dataset (queues may not import demo)",
    ]
    assert layer_violations("configurator", "configurator/x.py", source) == [
        "configurator/x.py:3 imports conversations.models (configurator may not import "
        "conversations)",
        "configurator/x.py:4 imports queues.models (configurator may not import queues)",
        "configurator/x.py:10 imports integrations (configurator may not import integrations)",
        "configurator/x.py:13 imports demo.dataset (configurator may not import demo)",
    ]
    assert layer_violations("integrations", "integrations/x.py", source) == [
        "integrations/x.py:8 imports messaging.models (integrations may not import messaging)",
        "integrations/x.py:13 imports demo.dataset (integrations may not import demo)",
    ]


def test_the_home_page_is_imported_by_no_app_and_imports_no_demo() -> None:
    source = "import cockpit.selectors\nfrom demo import dataset\n"

    assert layer_violations("messaging", "messaging/x.py", source) == [
        "messaging/x.py:1 imports cockpit.selectors (messaging may not import cockpit)",
        "messaging/x.py:2 imports demo (messaging may not import demo)",
    ]
    assert layer_violations("cockpit", "cockpit/x.py", source) == [
        "cockpit/x.py:2 imports demo (cockpit may not import demo)"
    ]
