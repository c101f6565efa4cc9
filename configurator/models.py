"""Rows of the shared mechanisms: the workers' heartbeats, API tokens as administrators see them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

# The first characters of a key shown in the admin: enough to tell tokens apart, useless to log in.
PREFIX_SHOWN = 8


class WorkerHeartbeat(models.Model):
    """A `db_worker` process, as last seen: tells live workers from stopped ones."""

    worker_id = models.CharField(_("worker ID"), max_length=64, unique=True)
    hostname = models.CharField(_("host"), max_length=255)
    pid = models.PositiveIntegerField(_("process ID"))
    started_at = models.DateTimeField(_("started"))
    seen_at = models.DateTimeField(_("last seen"), db_index=True)

    class Meta:
        ordering = ["-seen_at"]
        verbose_name = _("worker")
        verbose_name_plural = _("workers")

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class ApiToken(AuthToken):  # type: ignore[misc]  # knox ships no types
    """A django-rest-knox token (digest and lookup prefix stored, never the key) in the admin."""

    class Meta:
        proxy = True
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def prefix(self) -> str:
        """The first characters of the key: enough to tell tokens apart, useless to log in."""
        return str(self.token_key)[:PREFIX_SHOWN]
