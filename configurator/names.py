"""Names unique regardless of case: messaging services, queues and integrations.

"Sales" and "sales" side by side read as one thing in every list, search and log line, so a
name is taken whatever its case. The database holds the rule (`UniqueNameIgnoringCase`, a unique
index on LOWER(name)), and the same constraint checks it before saving: the admin's forms and
the services' `full_clean` get `{"name": "A queue named “Sales” already exists."}`, and the API
serializers call `name_problem` for the same sentence. Case is folded by the database's LOWER(),
the same function for the check and the index: every letter on PostgreSQL, the ASCII letters
only on SQLite.

`case_duplicates_rename` is what the migrations that add the constraint run first: a database
holding names that differ only in case keeps the oldest row's name and renames the later ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Count, Value
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

NAME_FIELD = "name"
# How every such constraint's database name ends (unique_name_ignoring_case checks it): what a
# refused INSERT or UPDATE's error is recognised by.
CONSTRAINT_SUFFIX = "_name_unique_ignoring_case"
_FOLD_BATCH = 500
NAME_TAKEN_MEANWHILE = gettext_lazy(
    "This name was taken a moment ago, regardless of case, by another save; choose another."
)


def name_owner(
    model: type[models.Model],
    name: str,
    *,
    exclude_pk: Any = None,
    using: str = DEFAULT_DB_ALIAS,
) -> str | None:
    """The stored name of another row whose name is `name` regardless of case, if any."""
    rows = (
        model._default_manager.using(using)
        .alias(folded=Lower(NAME_FIELD))
        .filter(folded=Lower(Value(name, output_field=models.CharField())))
    )
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    found: str | None = rows.values_list(NAME_FIELD, flat=True).first()
    return found


def names_folded(names: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> dict[str, str]:
    """Each name as the database's LOWER() folds it: what the unique name indexes compare.

    Python's `str.lower()` or `casefold()` differ from it (“Straße” and “STRASSE” casefold
    alike; SQLite folds only ASCII letters), so a check that must agree with the index asks the
    database, a few hundred names a query.
    """
    distinct = sorted(set(names))
    folded: dict[str, str] = {}
    with connections[using].cursor() as cursor:
        for start in range(0, len(distinct), _FOLD_BATCH):
            batch = distinct[start : start + _FOLD_BATCH]
            cursor.execute("SELECT " + ", ".join(["LOWER(CAST(%s AS TEXT))"] * len(batch)), batch)
            row = cursor.fetchone()
            folded.update(zip(batch, row, strict=True))
    return folded


def name_problem(
    model: type[models.Model],
    name: str,
    *,
    exclude_pk: Any = None,
    using: str = DEFAULT_DB_ALIAS,
) -> str | None:
    """Why `name` cannot be given to a row of `model` (None when it can)."""
    owner = name_owner(model, name, exclude_pk=exclude_pk, using=using)
    if owner is None:
        return None
    noun = str(model._meta.verbose_name)
    article = _("An") if noun[:1].lower() in "aeiou" else _("A")
    return _("%(article)s %(noun)s named “%(name)s” already exists.") % {
        "article": article,
        "noun": noun,
        "name": owner,
    }


class UniqueNameIgnoringCase(models.UniqueConstraint):
    """UNIQUE (LOWER(name)), whose check says which row has the name, on the name field.

    Django's own check of an expression constraint raises a form-wide error with a fixed
    message; this one names the field and the name it collides with.
    """

    def validate(
        self,
        model: type[models.Model],
        instance: models.Model,
        exclude: Any = None,
        using: str = DEFAULT_DB_ALIAS,
    ) -> None:
        if exclude and NAME_FIELD in exclude:
            return
        name = getattr(instance, NAME_FIELD, None)
        if not name:
            return
        problem = name_problem(model, name, exclude_pk=instance.pk, using=using)
        if problem:
            raise ValidationError({NAME_FIELD: [ValidationError(problem, code="name_taken")]})


def unique_name_ignoring_case(constraint_name: str) -> UniqueNameIgnoringCase:
    """The constraint for a model's Meta, under its database name."""
    if not constraint_name.endswith(CONSTRAINT_SUFFIX):
        raise ValueError(f"{constraint_name} must end with {CONSTRAINT_SUFFIX}")
    return UniqueNameIgnoringCase(Lower(NAME_FIELD), name=constraint_name)


def case_duplicates_rename(
    model: Any, *, report: Callable[[str], None], max_length: int = 100
) -> list[tuple[int, str, str]]:
    """Rename rows whose name another, older row has regardless of case: "sales" → "sales (2)".

    For a migration (`model` is a historical model). The oldest row (lowest id) of each group
    keeps its name; each later one gets the lowest free number, within `max_length`. Each
    rename is reported in a sentence and returned as (id, old name, new name).
    """
    manager = model._default_manager
    groups = (
        manager.annotate(folded=Lower(NAME_FIELD))
        .order_by()
        .values("folded")
        .annotate(count=Count("pk"))
        .filter(count__gt=1)
        .values_list("folded", flat=True)
    )
    renamed: list[tuple[int, str, str]] = []
    noun = str(model._meta.verbose_name)
    for folded in list(groups):
        rows = list(
            manager.alias(same=Lower(NAME_FIELD))
            .filter(same=folded)
            .order_by("pk")
            .values_list("pk", NAME_FIELD)
        )
        for pk, name in rows[1:]:
            number = 2
            while True:
                suffix = f" ({number})"
                candidate = name[: max_length - len(suffix)] + suffix
                taken = (
                    manager.alias(same=Lower(NAME_FIELD))
                    .filter(same=Lower(Value(candidate, output_field=models.CharField())))
                    .exists()
                )
                if not taken:
                    break
                number += 1
            manager.filter(pk=pk).update(**{NAME_FIELD: candidate})
            renamed.append((pk, name, candidate))
            report(
                f"Renamed {noun} #{pk} “{name}” to “{candidate}”: another {noun} "
                f"(#{rows[0][0]}) is named “{rows[0][1]}”, and names are now unique "
                "regardless of case."
            )
    return renamed


def migration_rename_step(app_label: str, model_name: str) -> Callable[[Any, Any], None]:
    """A RunPython function renaming the case duplicates of one model, saying so on stdout."""

    def rename(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(app_label, model_name)
        max_length = model._meta.get_field(NAME_FIELD).max_length or 100
        case_duplicates_rename(
            model, report=lambda line: print(f"\n    {line}", end=""), max_length=max_length
        )

    return rename


class UniqueNameSerializerMixin:
    """A ModelSerializer's `validate_name` for a model named uniquely regardless of case.

    The API's error for a taken name, by field, in the sentence the admin shows
    (`name_problem`); DRF does not check expression constraints itself.
    """

    instance: Any
    Meta: Any

    def validate_name(self, value: str) -> str:
        problem = name_problem(
            self.Meta.model, value, exclude_pk=getattr(self.instance, "pk", None)
        )
        if problem:
            raise serializers.ValidationError(problem)
        return value
