"""The queues app: chat and phone queues, their addresses, address → queue routing."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueuesConfig(AppConfig):
    """Queue Management: queues and the addresses that route conversations to them."""

    name = "queues"
    verbose_name = _("Queue Management")

    def ready(self) -> None:
        from configurator import audit
        from queues.models import Queue, QueueAddress

        audit.register(Queue, exclude_fields=["created_at", "updated_at"])
        audit.register(QueueAddress)
