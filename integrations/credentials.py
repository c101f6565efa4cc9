"""Writing an integration's authentication block, through the mechanism messaging shares."""

from __future__ import annotations

from collections.abc import Sequence

from configurator.changes import RowChanges
from configurator.credentials import entries_replace
from integrations.models import Integration, IntegrationAuthentication
from integrations.validation import AUTHENTICATION_BLOCK, CleanAuthentication


def authentications_replace(
    *,
    integration: Integration,
    entries: Sequence[CleanAuthentication],
    missing_secret_allowed: bool = False,
) -> RowChanges:
    """Make the entries exactly `entries`, matched by ID; one without a secret keeps its own."""
    return entries_replace(
        block=AUTHENTICATION_BLOCK,
        stored=integration.authentications.all(),
        entries=entries,
        new_row=lambda: IntegrationAuthentication(integration=integration),
        missing_secret_allowed=missing_secret_allowed,
    )


def secrets_missing(integration: Integration) -> list[str]:
    """The IDs of the integration's entries stored without a secret (imported without it)."""
    return sorted(
        integration.authentications.filter(secret__isnull=True).values_list(
            "authentication_id", flat=True
        )
    )
