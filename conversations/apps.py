"""The conversations app: contacts (the conversations), agents, and the lifecycle."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    """Contacts, agents and the lifecycle state machine that announces their events."""

    name = "conversations"
    verbose_name = _("Conversations")

    def ready(self) -> None:
        from django.conf import settings

        from configurator import audit, extensions
        from configurator.housekeeping import Job
        from conversations import outbound, overflow
        from conversations.models import Agent, Contact

        audit.register(Agent, exclude_fields=["created_at", "updated_at"], m2m_fields=["queues"])
        # Not audited (the webhook's path writes contacts): operators' actions on them are.
        audit.register_action_target(Contact)
        from conversations.metrics import queues_waiting
        from conversations.retention import rules

        extensions.contact_event_after_commit.register(overflow.overflow_check_on_waiting)
        extensions.queue_overflow_changed_after_commit.register(
            overflow.overflow_check_on_queue_change
        )
        for rule in rules():
            extensions.retention_rules.register(rule)
        extensions.metrics_state_readers.register(queues_waiting)
        # Outbound chats past their connect timeout: a task due at each timeout, and this sweep
        # for any whose task went with a stopped worker.
        extensions.housekeeping_jobs.register(
            Job(
                "outbound connect timeout",
                outbound.chats_abandon_unreached,
                interval=lambda: float(settings.WORK_SWEEP_SECONDS),
            )
        )
