"""The messaging app: messaging services, Sinch webhook ingestion and callback processing."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    """Messaging services and the Sinch Conversation API callbacks they receive."""

    name = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        # Queues check addresses against the Sinch apps, and conversations reply through Sinch,
        # without importing this app (it sits downstream of both).
        from django.conf import settings
        from django.core import checks

        from configurator import housekeeping
        from conversations import gateways
        from messaging.selectors import sinch_apps
        from messaging.sinch.gateway import SinchGateway
        from messaging.tasks import callbacks_sweep
        from messaging.webhooks.processing import check_lease
        from queues.validation import register_app_directory

        checks.register(check_lease)
        register_app_directory(sinch_apps)
        gateways.register(SinchGateway())
        housekeeping.register(
            "callbacks sweep", callbacks_sweep, interval=lambda: float(settings.WORK_SWEEP_SECONDS)
        )

        from configurator import retention
        from messaging.retention import rules

        for rule in rules():
            retention.register(rule)

        from configurator import metrics
        from messaging.metrics import callbacks_backlog

        metrics.register_state("callbacks", callbacks_backlog)
