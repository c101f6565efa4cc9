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

        from configurator import audit, extensions
        from configurator.housekeeping import Job
        from messaging.metrics import callbacks_backlog
        from messaging.models import MessagingService, ServiceAuthentication
        from messaging.retention import rules
        from messaging.selectors import sinch_apps
        from messaging.services import REPROCESS_WALK_PATHS
        from messaging.sinch.gateway import SinchGateway
        from messaging.sinch.sandbox import SandboxGateway
        from messaging.wake import callbacks_sweep
        from messaging.webhooks.processing import check_lease

        audit.register(MessagingService, exclude_fields=["created_at", "updated_at"])
        audit.register(ServiceAuthentication, secret_fields=["secret", "previous_secret"])

        checks.register(check_lease)
        extensions.sinch_app_directory.register(sinch_apps)
        # Simulated contacts first: their replies stay in the local sandbox, never reach Sinch.
        extensions.reply_gateways.register(SandboxGateway())
        extensions.reply_gateways.register(SinchGateway())
        extensions.housekeeping_jobs.register(
            Job(
                "callbacks sweep",
                callbacks_sweep,
                interval=lambda: float(settings.WORK_SWEEP_SECONDS),
            )
        )
        for rule in rules():
            extensions.retention_rules.register(rule)
        extensions.metrics_state_readers.register(callbacks_backlog)
        for path in REPROCESS_WALK_PATHS:
            extensions.resumable_walks.register(path)
