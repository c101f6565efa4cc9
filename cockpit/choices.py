"""Enumerations of the home page."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Metric(models.TextChoices):
    """What an hourly count counts (cockpit.counting holds how each is counted)."""

    CALLBACKS = "callbacks", _("callbacks received, by status")
    DELIVERIES = "deliveries", _("integration deliveries, by status")
    CONVERSATIONS = "conversations", _("conversations received and abandoned")
    UNROUTED = "unrouted", _("messages that reached no queue, by address")
