"""The migration that brings versions gives every integration there is its version 1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from integrations import services
from integrations.models import Integration, IntegrationVersion
from tests.factories import make_queue

BEFORE = [("integrations", "0010_integration_name_unique_ignoring_case")]
AFTER = [("integrations", "0012_integration_first_versions")]


@pytest.fixture
def before_versions() -> Iterator[Any]:
    """The database before versions; back at the latest migrations afterwards."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield MigrationExecutor(connection).loader.project_state(BEFORE).apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_each_existing_integration_gets_version_1(before_versions: Any) -> None:
    queue = make_queue("Support")
    old = before_versions.get_model("integrations", "Integration")
    entry = before_versions.get_model("integrations", "IntegrationAuthentication")
    integration = old.objects.create(
        name="Listener",
        channel_type="chat",
        endpoint_url="https://hooks.example.com/events",
        events=["ended"],
        configuration={"request": {"method": "POST", "body": {"b": 1, "a": 2}}},
    )
    integration.queues.set([queue.pk])
    entry.objects.create(integration=integration, authentication_id="api-key", secret="x")

    MigrationExecutor(connection).migrate(AFTER)

    version = IntegrationVersion.objects.get(integration_id=integration.pk)
    assert version.number == 1 and version.via == "system" and version.user is None
    assert version.snapshot["queues"] == [{"id": queue.pk, "name": "Support"}]
    assert version.snapshot["authentications"] == ["api-key"]
    assert list(version.snapshot["configuration"]["request"]["body"]) == ["b", "a"]
    assert list(version.snapshot)[-1] == "configuration"
    # What a save would snapshot now: the first save after the migration changes nothing.
    assert services.integration_snapshot(Integration.objects.get(pk=integration.pk)) == (
        version.snapshot
    )
