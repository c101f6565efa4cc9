"""The migrations that make names unique regardless of case cope with existing duplicates.

Run on SQLite and on PostgreSQL (DATABASE_URL): the oldest row of each group keeps its name,
later ones get the lowest free number, each rename is printed in the migration's output, and
the constraint holds afterwards. Back and forth, nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

pytestmark = pytest.mark.django_db(transaction=True)


def _steps() -> dict[str, tuple[str, str]]:
    """Per app, (the migration before the rule, the migration that brings it), found by name so
    that a renumbering leaves this test alone."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    steps = {}
    for app in ("queues", "messaging", "integrations"):
        [rule] = [
            name
            for label, name in graph.nodes
            if label == app and name.endswith("_name_unique_ignoring_case")
        ]
        [parent] = [
            node.key[1] for node in graph.node_map[(app, rule)].parents if node.key[0] == app
        ]
        steps[app] = (parent, rule)
    return steps


STEPS = _steps()


def _migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate to `targets`; the historical apps there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def before() -> Iterator[Any]:
    """The three apps just before the rule; back at the latest migrations afterwards."""
    apps = _migrate([(app, steps[0]) for app, steps in STEPS.items()])
    yield apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _after() -> Any:
    return _migrate([(app, steps[1]) for app, steps in STEPS.items()])


def test_later_case_duplicates_are_renamed_and_said(
    before: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = before.get_model("queues", "Queue")
    first = queue.objects.create(name="Sales", channel_type="chat")
    second = queue.objects.create(name="sales", channel_type="chat")
    third = queue.objects.create(name="SALES", channel_type="chat")
    numbered = queue.objects.create(name="sales (2)", channel_type="chat")
    other = queue.objects.create(name="Support", channel_type="chat")
    long_name = "L" * 100
    queue.objects.create(name=long_name, channel_type="chat")
    long_copy = queue.objects.create(name="l" * 100, channel_type="chat")
    capsys.readouterr()

    apps = _after()

    names = dict(apps.get_model("queues", "Queue").objects.values_list("pk", "name"))
    assert names[first.pk] == "Sales"
    assert names[second.pk] == "sales (3)"  # "sales (2)" is taken
    assert names[third.pk] == "SALES (4)"
    assert names[numbered.pk] == "sales (2)"
    assert names[other.pk] == "Support"
    assert names[long_copy.pk] == "l" * 96 + " (2)"  # within the 100 characters
    printed = capsys.readouterr().out
    assert (
        f"Renamed queue #{second.pk} “sales” to “sales (3)”: another queue (#{first.pk}) is "
        "named “Sales”, and names are now unique regardless of case." in printed
    )
    assert f"Renamed queue #{third.pk} “SALES” to “SALES (4)”" in printed
    assert printed.count("Renamed queue") == 3
    with pytest.raises(IntegrityError), transaction.atomic():
        apps.get_model("queues", "Queue").objects.create(name="SUPPORT", channel_type="chat")


def test_services_and_integrations_are_renamed_too(
    before: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    service = before.get_model("messaging", "MessagingService")
    connection_url = "https://eu.conversation.api.sinch.com/v1/projects/p/messages:send"
    kept = service.objects.create(
        name="Sinch EU", service_connection=connection_url, region="eu", project_id="p"
    )
    renamed = service.objects.create(
        name="sinch eu", service_connection=connection_url, region="eu", project_id="p"
    )
    integration = before.get_model("integrations", "Integration")
    base = {
        "channel_type": "chat",
        "endpoint_url": "https://crm.example.com/events",
        "configuration": {"request": {"method": "POST"}},
    }
    crm = integration.objects.create(name="CRM", **base)
    crm_again = integration.objects.create(name="crm", **base)
    capsys.readouterr()

    apps = _after()

    services = dict(
        apps.get_model("messaging", "MessagingService").objects.values_list("pk", "name")
    )
    assert services == {kept.pk: "Sinch EU", renamed.pk: "sinch eu (2)"}
    integrations = dict(
        apps.get_model("integrations", "Integration").objects.values_list("pk", "name")
    )
    assert integrations == {crm.pk: "CRM", crm_again.pk: "crm (2)"}
    printed = capsys.readouterr().out
    assert f"Renamed messaging service #{renamed.pk} “sinch eu” to “sinch eu (2)”" in printed
    assert f"Renamed event-driven integration #{crm_again.pk} “crm” to “crm (2)”" in printed


def test_a_database_without_duplicates_migrates_silently_both_ways(
    before: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = before.get_model("queues", "Queue")
    queue.objects.create(name="Sales", channel_type="chat")
    queue.objects.create(name="Support", channel_type="chat")
    capsys.readouterr()

    apps = _after()
    assert "Renamed" not in capsys.readouterr().out
    assert sorted(apps.get_model("queues", "Queue").objects.values_list("name", flat=True)) == [
        "Sales",
        "Support",
    ]

    back = _migrate([(app, steps[0]) for app, steps in STEPS.items()])
    rows = back.get_model("queues", "Queue").objects.values_list("name", flat=True)
    assert sorted(rows) == ["Sales", "Support"]
    # Before the rule, only exact duplicates were refused.
    back.get_model("queues", "Queue").objects.create(name="SALES", channel_type="chat")
