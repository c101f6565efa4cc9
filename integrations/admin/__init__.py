"""Admin pages of integrations: the integrations themselves, and their delivery log."""

from integrations.admin import delivery, integration

__all__ = ["delivery", "integration"]
