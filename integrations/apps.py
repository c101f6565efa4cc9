"""The integrations app: event-driven calls to external HTTPS services on conversation events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    """Event-driven integrations: their configuration, validation and presets."""

    name = "integrations"
    verbose_name = _("Event-Driven Integrations")
