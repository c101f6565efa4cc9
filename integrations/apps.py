"""The integrations app: event-driven calls to external HTTPS services on conversation events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Changed by every save: the entry's time says it already. (The workers' pause and failure count
# are written by queryset updates, which record nothing; Resume's entry shows them lifted.)
AUDIT_UNTRACKED = ["created_at", "updated_at"]


class IntegrationsConfig(AppConfig):
    """Event-driven integrations: configuration, and the calls they make on lifecycle events."""

    name = "integrations"
    verbose_name = _("Event-Driven Integrations")

    def ready(self) -> None:
        from django.conf import settings

        from configurator import audit, extensions
        from configurator.housekeeping import Job
        from integrations.admin.delivery import DeliveryInline
        from integrations.dispatch import RESEND_WALK_PATHS, deliveries_sweep
        from integrations.metrics import deliveries_backlog
        from integrations.models import Integration, IntegrationAuthentication
        from integrations.retention import contact_hold, rules
        from integrations.runtime import contact_event_heard

        audit.register(Integration, exclude_fields=AUDIT_UNTRACKED, m2m_fields=["queues"])
        audit.register(IntegrationAuthentication, secret_fields=["secret"])

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
