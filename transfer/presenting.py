"""The import's result as a person reads it: the command's lines (the admin page has a template)."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _

from transfer.services import ImportResult


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."


def plan_lines(result: ImportResult) -> list[str]:
    """The plan per object with its field changes, then what to do, what failed, the outcome."""
    lines: list[str] = []
    for planned in result.plan.objects:
        lines.append(f"{planned.action:<9} {planned.label}")
        for name, change in planned.changes.items():
            lines.append(f"          {name}: {_value(change['from'])} -> {_value(change['to'])}")
    summary = result.plan.summary()
    lines.append(
        _("Plan: %(create)s to create, %(update)s to update, %(unchanged)s unchanged, ") % summary
        + _("%(delete)s to delete.") % summary
    )
    for message in result.plan.secrets_missing():
        lines.append(_("Imported disabled: %(message)s") % {"message": message})
    for message in result.plan.secrets_unused():
        lines.append(_("Secret not used: %(message)s") % {"message": message})
    for message in result.warnings:
        lines.append(_("Warning: %(message)s") % {"message": message})
    for kept in result.not_deleted:
        lines.append(_("Not deleted: %(object)s: %(reason)s") % kept)
    for error in result.errors:
        lines.append(
            _("Error in %(object)s, %(field)s: %(messages)s")
            % {**error, "messages": " ".join(error["messages"])}
        )
    if result.errors:
        lines.append(_("Nothing was imported: the transaction was rolled back."))
    elif result.dry_run:
        lines.append(_("Dry run: nothing was written."))
    elif result.applied:
        lines.append(_("Imported."))
    else:
        lines.append(_("Nothing to import: everything is unchanged."))
    return lines
