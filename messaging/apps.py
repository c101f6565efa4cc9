"""The messaging app: messaging services, Sinch webhook ingestion and callback processing."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    """Messaging services and the Sinch Conversation API callbacks they receive."""

    name = "messaging"
    verbose_name = _("Messaging")
