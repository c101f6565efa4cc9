"""The shared mechanisms' enumerations: the audit trail's channels and operations."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditVia(models.TextChoices):
    """Through what a change came: the words of `GET /api/v1/audit/`'s `via` field."""

    ADMIN = "admin", _("admin")
    API = "api", _("API")
    COMMAND = "command", _("command")
    WORKER = "worker", _("worker")
    SYSTEM = "system", _("system")


class AuditOperation(models.TextChoices):
    """What a person or process did: the words of `GET /api/v1/audit/`'s `action` filter.

    The first three are django-auditlog's own (a registered model saved or deleted); the others
    are operator actions, recorded with configurator.audit.operation() around the saves they
    make, or configurator.audit.record() when they change no configuration row.
    """

    CREATE = "create", _("create")
    UPDATE = "update", _("update")
    DELETE = "delete", _("delete")
    COPY = "copy", _("copy")
    DISABLE = "disable", _("disable")
    ENABLE = "enable", _("enable")
    RESUME = "resume", _("resume")
    RESEND = "resend", _("resend")
    TEST_RUN = "test_run", _("test run live")
    DOCTOR_FIX = "doctor_fix", _("doctor fix")
    SIMULATE = "simulate", _("simulate")
    ROTATE_SECRET = "rotate_secret", _("secret rotation")
    IMPORT = "import", _("import")
    RESTORE = "restore", _("restore a version")
    START_CHAT = "start_chat", _("start a chat")
    REPLY = "reply", _("reply")
    ALLOCATE = "allocate", _("allocate")
    ACCEPT = "accept", _("accept")
    REJECT = "reject", _("reject")
    TRANSFER = "transfer", _("transfer")
    FORWARD = "forward", _("forward")
    END = "end", _("end")
    ABANDON = "abandon", _("abandon")
