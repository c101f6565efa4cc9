"""Retention: callbacks, deliveries, contact events, task results and audit entries stay bounded.

Each app registers the tables it prunes in its `AppConfig.ready()` (`extensions.retention_rules`):
which rows are due given a cutoff (one indexed condition, so that selecting a batch never scans the
table) and how many days they are kept (a setting; 0 keeps them for ever). `prune` walks the rules
and deletes what is due in batches of primary keys, each in a short transaction of its own, so that
it never holds a long lock: the housekeeping job of every worker runs it with a time budget,
`manage.py prune` without.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from configurator import extensions
from configurator.models import AuditEntry

logger = logging.getLogger(__name__)

# No rule removes anything younger than this, whatever its setting says.
MINIMUM_AGE = timedelta(days=1)

RETENTION_SETTINGS = (
    "CALLBACKS_RETENTION_DAYS",
    "DELIVERIES_RETENTION_DAYS",
    "CONTACT_EVENTS_RETENTION_DAYS",
    "TASK_RESULTS_RETENTION_DAYS",
    "HOME_ROLLUP_RETENTION_DAYS",
    "AUDIT_RETENTION_DAYS",
)

DueRows = Callable[[datetime, int | None], QuerySet[Any]]


def _minimum_age() -> timedelta:
    return MINIMUM_AGE


@dataclass(frozen=True)
class Rule:
    """Rows of one table that are removed once they are older than their retention period.

    `due(cutoff, limit)` answers the rows due at `cutoff` by one indexed condition; with a
    limit, a queryset whose first `limit` rows are a batch that can be deleted on its own (an
    app whose rows must go together orders them so). `subset` names the part of the table the
    rule covers when other rules of the same table keep another part longer ("failed ones").
    """

    table: Any
    model: type[models.Model]
    days: Callable[[], int]
    due: DueRows
    subset: Any = None
    minimum_age: Callable[[], timedelta] = field(default=_minimum_age)

    @property
    def key(self) -> str:
        return f"{self.model._meta.label}:{self.subset or ''}"


def setting_days(*names: str) -> Callable[[], int]:
    """Days from settings, read at every use: the longest of them, 0 (for ever) if any is 0."""

    def days() -> int:
        values = [int(getattr(settings, name)) for name in names]
        return 0 if any(value <= 0 for value in values) else max(values)

    return days


def cutoff(rule: Rule, *, now: datetime) -> datetime | None:
    """Rows of `rule` older than this are due; None when the rule keeps them for ever."""
    days = rule.days()
    if days <= 0:
        return None
    return now - max(timedelta(days=days), rule.minimum_age(), MINIMUM_AGE)


@dataclass
class Pruned:
    """What one table lost (or would lose) in one run."""

    table: str
    rows: int = 0
    batches: int = 0
    kept_for_ever: bool = True


@dataclass
class PruneRun:
    """The outcome of `prune`: per table, and whether it stopped at its time budget."""

    tables: dict[str, Pruned] = field(default_factory=dict)
    stopped_early: bool = False


def prune(
    *,
    batch_size: int | None = None,
    seconds: float | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PruneRun:
    """Delete every registered rule's due rows in batches; with `dry_run`, only count them.

    Each batch selects at most `batch_size` primary keys (locked with SKIP LOCKED where the
    database can, so that several workers pruning at once share the work) and deletes them in
    the same short transaction, through Django's collector so that references from other rows
    are handled as their `on_delete` says. With `seconds`, no batch starts after that budget.
    """
    size = max(1, batch_size if batch_size is not None else int(settings.PRUNE_BATCH_SIZE))
    deadline = None if seconds is None else time.monotonic() + seconds
    moment = now or timezone.now()
    run = PruneRun()
    # Apps register in dependency order and downstream rows refer to upstream ones (deliveries
    # to contact events): walking backwards frees what a later rule may then remove.
    for rule in reversed(list(extensions.retention_rules)):
        label = str(rule.table)
        tally = run.tables.setdefault(label, Pruned(table=label))
        before = cutoff(rule, now=moment)
        if before is None:
            continue
        tally.kept_for_ever = False
        if dry_run:
            tally.rows += rule.due(before, None).order_by().count()
            continue
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                run.stopped_early = True
                return run
            deleted, selected = _batch_delete(rule, before=before, size=size)
            if not selected:
                break
            tally.rows += deleted
            tally.batches += 1
            if selected < size:
                break
    return run


def _batch_delete(rule: Rule, *, before: datetime, size: int) -> tuple[int, int]:
    """Delete one batch of `rule`'s due rows; returns (rows deleted, ids selected)."""
    with transaction.atomic():
        ids = list(
            rule.due(before, size)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return 0, 0
        # Only the keys: the collector would otherwise load whole rows (JSON and all) to delete.
        _, per_model = rule.model._default_manager.filter(pk__in=ids).only("pk").delete()
    return per_model.get(rule.model._meta.label, 0), len(ids)


# The housekeeping job: bounded runs, sooner again while a backlog lasts.
_behind = False


def prune_job() -> PruneRun:
    """What every worker runs on its interval: one time-bounded pass over the rules."""
    global _behind
    run = prune(seconds=_run_budget())
    _behind = run.stopped_early
    removed = {name: tally.rows for name, tally in run.tables.items() if tally.rows}
    if removed:
        logger.info("pruned %s%s", removed, " (more due)" if run.stopped_early else "")
    return run


def prune_interval() -> float:
    """Seconds until the next run: the setting, or one run's budget while behind."""
    if _behind:
        return max(1.0, _run_budget())
    return max(1.0, float(settings.PRUNE_INTERVAL_SECONDS))


def _run_budget() -> float:
    # The worker's heartbeat runs in the same thread: a run must not make the worker look stopped.
    return max(
        0.0, min(float(settings.PRUNE_RUN_SECONDS), float(settings.WORKER_STALE_SECONDS) / 4)
    )


def notice(model: type[models.Model]) -> str:
    """The retention in force for `model`, as one sentence for its admin list ("" if none)."""
    rules = [rule for rule in extensions.retention_rules if rule.model is model]
    if not rules:
        return ""
    main = next((rule for rule in rules if rule.subset is None), rules[0])
    parts = [
        gettext("%(subset)s %(period)s") % {"subset": rule.subset, "period": _period(rule)}
        for rule in rules
        if rule is not main
    ]
    sentence = gettext("%(table)s are kept %(period)s") % {
        "table": capfirst(str(main.table)),
        "period": _period(main),
    }
    if parts:
        sentence += " (" + "; ".join(parts) + ")"
    if any(rule.days() > 0 for rule in rules):
        return sentence + gettext("; older ones are removed by the workers.")
    return sentence + "."


def _period(rule: Rule) -> str:
    days = rule.days()
    if days <= 0:
        return gettext("for ever")
    return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}


def task_results_due(before: datetime, limit: int | None) -> QuerySet[Any]:
    """Finished task rows older than the cutoff (index configurator_task_finished)."""
    return DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED], finished_at__lt=before
    ).order_by()


TASK_RESULTS_RULE = Rule(
    table=_("task results"),
    model=DBTaskResult,
    days=setting_days("TASK_RESULTS_RETENTION_DAYS"),
    due=task_results_due,
)


def audit_entries_due(before: datetime, limit: int | None) -> QuerySet[Any]:
    """Audit entries older than the cutoff, oldest first (index audit_timestamp)."""
    due: QuerySet[Any] = AuditEntry.objects.filter(timestamp__lt=before)
    return due.order_by("timestamp")


AUDIT_RULE = Rule(
    table=_("audit entries"),
    model=AuditEntry,
    days=setting_days("AUDIT_RETENTION_DAYS"),
    due=audit_entries_due,
)


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """Retention settings are whole days, 0 or more; a negative one is refused at start."""
    return [
        checks.Error(
            f"{name} must be 0 (keep for ever) or a number of days, not {getattr(settings, name)}.",
            id="configurator.E101",
        )
        for name in RETENTION_SETTINGS
        if int(getattr(settings, name)) < 0
    ]
