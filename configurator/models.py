"""Rows of the shared mechanisms: the workers' heartbeats, API tokens as administrators see them,
the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.db import models
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from configurator.choices import AuditVia

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


class AuditEntryManager(LogEntryManager):  # type: ignore[misc]  # django-auditlog ships no types
    """django-auditlog's manager, naming rows whose own key or `str()` would reveal a secret."""

    # How entries name the rows of a model whose primary key or `str()` must not be written
    # down (a knox token's primary key is its digest): model → (key, name); filled by
    # configurator.audit.register().
    namings: ClassVar[
        dict[type[models.Model], tuple[Callable[[Any], str], Callable[[Any], str]]]
    ] = {}

    def log_create(self, instance: Any, force_log: bool = False, **kwargs: Any) -> Any:
        self._name(instance, kwargs)
        return super().log_create(instance, force_log=force_log, **kwargs)

    def log_m2m_changes(
        self, changed_queryset: Any, instance: Any, operation: str, field_name: str, **kwargs: Any
    ) -> Any:
        self._name(instance, kwargs)
        return super().log_m2m_changes(changed_queryset, instance, operation, field_name, **kwargs)

    @classmethod
    def _name(cls, instance: Any, kwargs: dict[str, Any]) -> None:
        naming = cls.namings.get(type(instance))
        if naming is not None:
            kwargs.setdefault("object_pk", naming[0](instance))
            kwargs.setdefault("object_repr", naming[1](instance))


class AuditEntry(AbstractLogEntry):  # type: ignore[misc]  # django-auditlog ships no types
    """One change or operator action: django-auditlog's entry, with the operation and the entry.

    django-auditlog records who, when, the object and the field-level diff of every registered
    model's create, update and delete (configurator/audit.py says which models, and masks their
    secrets); `operation` names what the person did in the words of the admin and the API (a
    `copy` creates, a `disable` updates, a `transfer` changes no configuration at all), and `via`
    says whether it came through the admin, the API, a command or a worker.
    """

    operation: models.CharField[str, str] = models.CharField(
        _("action"), max_length=32, db_index=True
    )
    # Who, as a name that outlives the account: deleting a user must not erase what they did.
    actor_username: models.CharField[str, str] = models.CharField(
        _("user name"), max_length=150, blank=True, default=""
    )
    via: models.CharField[str, str] = models.CharField(
        _("through"), max_length=16, choices=AuditVia.choices, default=AuditVia.SYSTEM
    )

    objects = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):  # type: ignore[misc]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [
            models.Index(fields=["content_type", "object_id", "-timestamp"], name="audit_object"),
            models.Index(
                fields=["content_type", "object_pk", "-timestamp"], name="audit_object_key"
            ),
            models.Index(fields=["operation", "-timestamp"], name="audit_operation"),
            models.Index(fields=["actor", "-timestamp"], name="audit_actor"),
            models.Index(fields=["actor_username", "-timestamp"], name="audit_actor_username"),
            models.Index(fields=["-timestamp"], name="audit_timestamp"),
        ]


class ConfigurationTransfer(models.Model):
    """No rows: the permissions to export and import the configuration between landscapes."""

    class Meta:
        managed = False
        # The admin index's link to the page of `transfer.admin`.
        verbose_name = _("configuration export and import")
        verbose_name_plural = _("configuration export and import")
        default_permissions = ()
        permissions = [
            ("export_configuration", _("Can export the configuration")),
            ("import_configuration", _("Can import a configuration")),
        ]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
