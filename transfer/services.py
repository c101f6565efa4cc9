"""The configuration import: check the document, plan, apply in one transaction.

Exporting is `transfer.document.config_export`. The three interfaces (commands, API, admin
page) parse their input and call `config_import`; its result is what they show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from configurator import audit
from configurator.choices import AuditOperation
from messaging.selectors import held_app_ids
from transfer.apply import ImportRefused, plan_apply, result_warnings
from transfer.document import VERSION, DocumentSerializer
from transfer.plan import LandscapeMapping, Plan, plan_import

# The import's secrets: {"services"|"integrations": {object name: {authentication ID: secret}}}.
Secrets = Mapping[str, Mapping[str, Mapping[str, str]]]


class DocumentRefused(Exception):
    """The document is not one this Configurator reads: DRF's errors by field."""

    def __init__(self, errors: Any) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass
class ImportResult:
    """The plan, and whether it was applied, rolled back as a dry run, or refused (errors)."""

    plan: Plan
    dry_run: bool
    applied: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)
    not_deleted: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The answer of the API and the commands' JSON: never a secret."""
        return {
            "dry_run": self.dry_run,
            "applied": self.applied,
            "summary": self.plan.summary(),
            "objects": [planned.as_json() for planned in self.plan.objects],
            "secrets_missing": self.plan.secrets_missing(),
            "secrets_unused": self.plan.secrets_unused(),
            "not_deleted": self.not_deleted,
            "warnings": self.warnings,
            "errors": self.errors,
        }


class _DryRun(Exception):
    """Raised at the end of a dry run's apply: its transaction rolls back."""


def document_check(document: Any) -> dict[str, Any]:
    """The document's parts, checked for shape, format and version (DocumentRefused if not)."""
    if not isinstance(document, dict):
        raise DocumentRefused({"non_field_errors": ["The document is a JSON object."]})
    parsed = DocumentSerializer(data=document)
    if not parsed.is_valid():
        raise DocumentRefused(parsed.errors)
    return dict(parsed.validated_data)


def config_import(
    *,
    document: Any,
    mapping: LandscapeMapping | None = None,
    secrets: Secrets | None = None,
    prune: bool = False,
    dry_run: bool = False,
) -> ImportResult:
    """Import a configuration document: plan, then apply it all or nothing.

    A dry run applies the plan too, inside a transaction it rolls back, so that it finds every
    validation error an apply would; nothing it did remains. Objects whose secrets are neither
    given nor stored are imported disabled and listed (`Plan.secrets_missing`). With `prune`,
    stored objects the document lacks are deleted, as far as their delete rules allow.
    """
    parts = document_check(document)
    plan = plan_import(
        parts, mapping=mapping or LandscapeMapping(), secrets=secrets or {}, prune=prune
    )
    result = ImportResult(plan=plan, dry_run=dry_run)
    if not any(planned.action != "unchanged" for planned in plan.objects):
        return result
    summary = plan.summary()
    try:
        with (
            transaction.atomic(),
            audit.operation(
                AuditOperation.IMPORT,
                document_version=VERSION,
                **{action: count for action, count in summary.items() if count},
            ),
        ):
            apps_before = held_app_ids()
            result.not_deleted = plan_apply(plan)
            result.warnings = result_warnings(plan, apps_before=apps_before)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except ImportRefused as exc:
        result.errors = exc.errors
        return result
    result.applied = not dry_run
    return result
