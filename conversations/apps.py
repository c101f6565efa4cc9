"""The conversations app: contacts (the conversations), agents, and the lifecycle."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    """Contacts, agents and the lifecycle state machine that announces their events."""

    name = "conversations"
    verbose_name = _("Conversations")

    def ready(self) -> None:
        from conversations import lifecycle, overflow
        from queues.services import on_overflow_change

        lifecycle.subscribe(overflow.contact_event_heard)
        on_overflow_change(overflow.queue_overflow_changed)

        from configurator import retention
        from conversations.retention import rules

        for rule in rules():
            retention.register(rule)

        from configurator import metrics
        from conversations.metrics import queues_waiting

        metrics.register_state("queues", queues_waiting)
