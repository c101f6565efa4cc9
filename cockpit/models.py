"""The home page's own rows: counts per closed hour, kept by the workers (cockpit.rollup)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from cockpit.choices import Metric


class HourlyCount(models.Model):
    """What one metric counted in one closed hour (UTC), by key (a status, an event, an address).

    One row per hour and metric, written whole by an upsert: a recount replaces the row, so
    two workers counting the same hour at once leave one row, and a key that fell to zero
    leaves none behind. The charts read a day of these rows instead of counting a day of
    callbacks and deliveries on every view.
    """

    hour = models.DateTimeField(_("hour"))
    metric = models.CharField(_("metric"), max_length=16, choices=Metric.choices)
    # {key: rows}; `simulated` holds how many of them the simulator made (keys with none left out).
    counts = models.JSONField(_("counts"), default=dict)
    simulated = models.JSONField(_("of which simulated"), default=dict)
    counted_at = models.DateTimeField(_("counted"))
    # Counted late enough that nothing in the hour can still change (work in flight, retries):
    # a final hour is not counted again.
    final = models.BooleanField(_("final"), default=False)

    class Meta:
        ordering = ["hour", "metric"]
        verbose_name = _("hourly count")
        verbose_name_plural = _("hourly counts")
        constraints = [
            models.UniqueConstraint(fields=["hour", "metric"], name="cockpit_hourly_count_once")
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.hour:%Y-%m-%d %H:00}"
