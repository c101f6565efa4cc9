"""App configs of the project package: the branded admin site and the shared mechanisms."""

from typing import Any

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConfiguratorAdminConfig(admin_apps.AdminConfig):
    """Installs the System Configurator admin site as the default site."""

    default = False
    default_site = "configurator.admin_site.ConfiguratorAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscover: every app's admin module, in INSTALLED_APPS order
        # Only now are the pages other apps register (knox, django-tasks-db, axes) there to be
        # replaced: an app's admin module imported earlier would find nothing to unregister.
        from configurator.admin import third_party_admins_replace

        third_party_admins_replace()


def audit_register_accounts() -> None:
    """Users (password as changed only), groups with their permissions, API tokens."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from knox.models import AuthToken

    from configurator import audit
    from configurator.models import ApiToken

    audit.register(
        get_user_model(),
        secret_fields=["password"],
        exclude_fields=["last_login"],
        m2m_fields=["groups", "user_permissions"],
    )
    audit.register(Group, m2m_fields=["permissions"])
    # A knox token's primary key is its digest: entries name it by its key's first characters,
    # as the API tokens page does, and never keep the digest or the stored part of the key.
    for model in (AuthToken, ApiToken):
        audit.register(
            model,
            secret_fields=["digest"],
            exclude_fields=["token_key"],
            key=_token_prefix,
            name=_token_name,
        )


def _token_prefix(token: Any) -> str:
    from configurator.models import PREFIX_SHOWN

    return str(token.token_key)[:PREFIX_SHOWN]


def _token_name(token: Any) -> str:
    return f"{_token_prefix(token)}… ({token.user})"


class ConfiguratorConfig(AppConfig):
    """Shared mechanisms: encrypted secrets, API permissions, the run command."""

    name = "configurator"
    verbose_name = "Configurator"

    def ready(self) -> None:
        from django.conf import settings
        from django.core import checks

        from configurator import extensions, logcontext, metrics, retention, workers
        from configurator.housekeeping import Job

        logcontext.log_uncaught_exceptions()

        from django.db.models.signals import pre_save

        from configurator import audit
        from configurator.models import AuditEntry

        pre_save.connect(audit.entry_fill, sender=AuditEntry, dispatch_uid="audit_entry_fill")
        audit_register_accounts()

        def beat_every() -> float:
            return max(1.0, min(10.0, float(settings.WORKER_STALE_SECONDS) / 4))

        jobs = extensions.housekeeping_jobs
        jobs.register(Job("heartbeat", workers.heartbeat, interval=beat_every))
        jobs.register(
            Job(
                "stale task rows",
                workers.stale_tasks_finish,
                interval=lambda: float(settings.WORK_SWEEP_SECONDS),
            )
        )
        jobs.register(Job("forget workers", workers.workers_forget, interval=lambda: 3600.0))

        extensions.retention_rules.register(retention.TASK_RESULTS_RULE)
        extensions.retention_rules.register(retention.AUDIT_RULE)
        jobs.register(Job("prune", retention.prune_job, interval=retention.prune_interval))
        checks.register(retention.check_settings)

        extensions.metrics_state_readers.register(workers.workers_state)
        checks.register(metrics.check_settings)
