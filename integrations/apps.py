"""The integrations app: event-driven calls to external HTTPS services on conversation events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    """Event-driven integrations: configuration, and the calls they make on lifecycle events."""

    name = "integrations"
    verbose_name = _("Event-Driven Integrations")

    def ready(self) -> None:
        from django.conf import settings

        from configurator import extensions
        from configurator.housekeeping import Job
        from integrations.admin.delivery import DeliveryInline
        from integrations.dispatch import RESEND_WALK_PATHS, deliveries_sweep
        from integrations.metrics import deliveries_backlog
        from integrations.retention import contact_hold, rules
        from integrations.runtime import contact_event_heard

        extensions.contact_event_in_transaction.register(contact_event_heard)
        extensions.housekeeping_jobs.register(
            Job(
                "deliveries sweep",
                deliveries_sweep,
                interval=lambda: float(settings.WORK_SWEEP_SECONDS),
            )
        )
        for rule in rules():
            extensions.retention_rules.register(rule)
        extensions.contact_event_holds.register(contact_hold())
        extensions.metrics_state_readers.register(deliveries_backlog)
        # The admin has imported every app's admin module by now (ConfiguratorAdminConfig comes
        # first in INSTALLED_APPS); the contact page reads its inlines when it renders.
        extensions.contact_page_inlines.register(DeliveryInline)
        for path in RESEND_WALK_PATHS:
            extensions.resumable_walks.register(path)
