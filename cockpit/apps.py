"""The cockpit app: the administrator's home page (the admin index) and the counts behind it."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CockpitConfig(AppConfig):
    """The home page, and the hourly counts every worker keeps for its charts."""

    name = "cockpit"
    verbose_name = _("Home page")

    def ready(self) -> None:
        from cockpit import home, rollup
        from configurator import extensions
        from configurator.housekeeping import Job

        extensions.admin_index_blocks.register(home.home_page)
        extensions.housekeeping_jobs.register(
            Job("home page counts", rollup.rollup_job, interval=rollup.rollup_interval)
        )
        extensions.retention_rules.register(rollup.RETENTION_RULE)
