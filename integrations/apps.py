"""The integrations app: event-driven calls to external HTTPS services on conversation events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    """Event-driven integrations: configuration, and the calls they make on lifecycle events."""

    name = "integrations"
    verbose_name = _("Event-Driven Integrations")

    def ready(self) -> None:
        from django.conf import settings

        from configurator import housekeeping
        from conversations import lifecycle
        from integrations.dispatch import deliveries_sweep
        from integrations.runtime import contact_event_heard

        lifecycle.add_event_hook(contact_event_heard)
        housekeeping.register(
            "deliveries sweep",
            deliveries_sweep,
            interval=lambda: float(settings.WORK_SWEEP_SECONDS),
        )

        from configurator import retention
        from conversations.retention import hold_register
        from integrations.retention import contact_hold, rules

        for rule in rules():
            retention.register(rule)
        hold_register(contact_hold())

        from configurator import metrics
        from integrations.metrics import deliveries_backlog

        metrics.register_state("deliveries", deliveries_backlog)
