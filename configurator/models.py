"""The project package's one model: API tokens as administrators see them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken


class ApiToken(AuthToken):
    """A django-rest-knox token (digest and lookup prefix stored, never the key) in the admin."""

    class Meta:
        proxy = True
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def prefix(self) -> str:
        """The first characters of the key: enough to tell tokens apart, useless to log in."""
        return str(self.token_key)[:PREFIX_SHOWN]


PREFIX_SHOWN = 8
