"""Writing an integration's authentication block, through the mechanism messaging shares."""

from __future__ import annotations

from collections.abc import Sequence

from configurator.changes import RowChanges
from configurator.credentials import entries_replace
from integrations.models import Integration, IntegrationAuthentication
from integrations.validation import AUTHENTICATION_BLOCK, CleanAuthentication


def authentications_replace(
    *, integration: Integration, entries: Sequence[CleanAuthentication]
) -> RowChanges:
    """Make the entries exactly `entries`, matched by ID; one without a secret keeps its own."""
    return entries_replace(
        block=AUTHENTICATION_BLOCK,
        stored=integration.authentications.all(),
        entries=entries,
        new_row=lambda: IntegrationAuthentication(integration=integration),
    )
