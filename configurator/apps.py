"""App configs of the project package: the branded admin site and the shared mechanisms."""

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


class ConfiguratorConfig(AppConfig):
    """Shared mechanisms: encrypted secrets, API permissions, the run command."""

    name = "configurator"
    verbose_name = "Configurator"

    def ready(self) -> None:
        from django.conf import settings

        from configurator import housekeeping, logcontext, workers

        logcontext.log_uncaught_exceptions()

        def beat_every() -> float:
            return max(1.0, min(10.0, float(settings.WORKER_STALE_SECONDS) / 4))

        housekeeping.register("heartbeat", workers.heartbeat, interval=beat_every)
        housekeeping.register(
            "stale task rows",
            workers.stale_tasks_finish,
            interval=lambda: float(settings.WORK_SWEEP_SECONDS),
        )
        housekeeping.register("forget workers", workers.workers_forget, interval=lambda: 3600.0)

        from django.core import checks

        from configurator import retention

        retention.register(retention.TASK_RESULTS_RULE)
        housekeeping.register("prune", retention.prune_job, interval=retention.prune_interval)
        checks.register(retention.check_settings)

        from configurator import metrics

        metrics.register_state("workers", workers.workers_state)
        checks.register(metrics.check_settings)
