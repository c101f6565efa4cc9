"""Who may see a contact's data: one rule, for every page and endpoint that shows it."""

from __future__ import annotations

from typing import Any

CONTACT_DATA_PERMISSION = "conversations.view_contact"


def can_view_contact_data(user: Any) -> bool:
    """Whether `user` may see a contact's data wherever it appears (its page, its events and
    messages, test runs, deliveries).

    Contacts carry end users' personal data (phone numbers, names, what they wrote, attached
    data); an integration developer without the permission to view contacts must not read
    them through the integrations' pages either.
    """
    return bool(user and user.is_active and user.has_perm(CONTACT_DATA_PERMISSION))
