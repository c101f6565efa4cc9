"""Configuration export and import between landscapes (docs/governance.md)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransferConfig(AppConfig):
    """Reads and writes every app's configuration; no app imports it."""

    name = "transfer"
    verbose_name = _("Configuration transfer")
    default_auto_field = "django.db.models.BigAutoField"
