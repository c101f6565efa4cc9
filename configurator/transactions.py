"""The rule that no database transaction is open while the project waits on the network.

A transaction held across an HTTP call holds its row locks (and on SQLite the whole database's
write lock) for as long as the far end takes to answer: up to a minute for an integration.
Every outbound client calls `refuse_inside_transaction` before it sends, so breaking the rule
is a loud programming error rather than a slow, intermittent outage.
"""

from __future__ import annotations

from django.db import connections


class TransactionOpenError(RuntimeError):
    """A network call was about to start inside a transaction the project's own code opened."""


def in_project_transaction() -> bool:
    """True when a transaction opened by the project (not by a test case) is open."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            continue
        # The test runner wraps tests in atomic blocks of its own; those are not ours.
        if any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks):
            return True
    return False


def refuse_inside_transaction(what: str) -> None:
    """Raise TransactionOpenError when `what` (a network call) would run inside a transaction."""
    if in_project_transaction():
        raise TransactionOpenError(
            f"{what} must not be sent inside a database transaction: commit first, then call "
            "out, then apply the answer in a new short transaction."
        )
