"""What a "replace the whole block" service changed, in the shape Django's admin history reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models


@dataclass
class RowChanges:
    """Rows created, changed (with the changed field names) and deleted by one replacement."""

    created: list[models.Model] = field(default_factory=list)
    changed: list[tuple[models.Model, list[str]]] = field(default_factory=list)
    deleted: list[models.Model] = field(default_factory=list)

    def record_on(self, formset: Any) -> None:
        """Tell the admin's change history what a formset saved through a service did."""
        formset.new_objects = self.created
        formset.changed_objects = self.changed
        formset.deleted_objects = self.deleted
