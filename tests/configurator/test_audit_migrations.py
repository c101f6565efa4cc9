"""Entries written before the user's name was kept get it from their account (migration 0009)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("configurator", "0008_audit_entry_object_key_and_operation_indexes")
AFTER = ("configurator", "0009_audit_actor_username")


def test_existing_entries_get_their_users_name() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps
    user = old.get_model("auth", "User").objects.create(username="sam")
    kind = old.get_model("contenttypes", "ContentType").objects.get_for_model(
        old.get_model("auth", "User")
    )
    entries = old.get_model("configurator", "AuditEntry").objects
    entries.create(
        content_type=kind, object_pk="1", object_repr="x", action=1, actor=user, operation="update"
    )
    entries.create(content_type=kind, object_pk="2", object_repr="y", action=1, operation="update")
    try:
        executor = MigrationExecutor(connection)
        executor.migrate([AFTER])
        new = executor.loader.project_state([AFTER]).apps
        names = new.get_model("configurator", "AuditEntry").objects.order_by("object_pk")

        assert list(names.values_list("actor_username", flat=True)) == ["sam", ""]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
