"""The migration to an explicit enabled flag keeps what every integration did, both ways."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from integrations import services
from integrations.models import Integration
from tests.factories import make_queue

BEFORE = [("integrations", "0006_delivery_followed_once")]
AFTER = [("integrations", "0007_integration_enabled")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate to `targets`; the historical apps there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def at_0006() -> Iterator[Any]:
    """The database as migration 0006 left it; back at the latest migrations afterwards."""
    apps = _migrate(BEFORE)
    yield apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _triggers(apps: Any, pk: int) -> set[tuple[str, str, str, int | None]]:
    rows = apps.get_model("integrations", "IntegrationTrigger").objects.filter(integration_id=pk)
    return set(rows.values_list("event", "channel_type", "direction", "queue_id"))


@pytest.mark.django_db(transaction=True)
def test_each_integration_keeps_its_behaviour_forwards_and_backwards(at_0006: Any) -> None:
    queue = make_queue("Support")
    old = at_0006.get_model("integrations", "Integration")
    entry = at_0006.get_model("integrations", "IntegrationAuthentication")
    base = {
        "channel_type": "chat",
        "endpoint_url": "https://hooks.example.com/events",
        "configuration": {"request": {"method": "POST"}},
    }
    active = old.objects.create(name="active", events=["queued", "ended"], **base)
    disabled = old.objects.create(name="disabled", events=[], disabled_events=["ended"], **base)
    never = old.objects.create(name="never", events=[], **base)
    paused = old.objects.create(
        name="paused", events=["ended"], paused_at=timezone.now(), paused_reason="failed", **base
    )
    for integration in (active, disabled, never, paused):
        integration.queues.set([queue.pk])
    old_triggers = at_0006.get_model("integrations", "IntegrationTrigger")
    old_triggers.objects.create(
        integration=active, event="ended", channel_type="chat", direction="inbound", queue=None
    )
    entry.objects.create(
        integration=active, authentication_id="basic:bob", type="basic", secret="s"
    )
    entry.objects.create(integration=active, authentication_id="api-key", type="header", secret="k")

    new = _migrate(AFTER).get_model("integrations", "Integration")

    shown = {i.name: (i.events, i.enabled, i.paused_at is not None) for i in new.objects.all()}
    assert shown == {
        "active": (["queued", "ended"], True, False),
        "disabled": (["ended"], False, False),
        "never": ([], False, False),
        "paused": (["ended"], True, True),
    }
    # The disabled one gets the trigger rows a save makes now (configuration only); the
    # others keep theirs as they were.
    migrated = _triggers(new._meta.apps, disabled.pk)
    assert migrated == {("ended", "chat", "inbound", queue.pk)}
    services.triggers_rebuild(integration=Integration.objects.get(pk=disabled.pk))
    assert _triggers(new._meta.apps, disabled.pk) == migrated
    assert _triggers(new._meta.apps, active.pk) == {("ended", "chat", "inbound", None)}
    entries = Integration.objects.get(pk=active.pk).authentications.all()
    assert {a.authentication_id: a.type for a in entries} == {
        "basic:bob": "basic",
        "api-key": "header",
    }

    back = _migrate(BEFORE)

    restored = back.get_model("integrations", "Integration").objects.all()
    assert {i.name: (i.events, i.disabled_events) for i in restored} == {
        "active": (["queued", "ended"], []),
        "disabled": ([], ["ended"]),
        "never": ([], []),
        "paused": (["ended"], []),
    }
    assert _triggers(back, disabled.pk) == set()
    entries = back.get_model("integrations", "IntegrationAuthentication").objects.all()
    assert {e.authentication_id: e.type for e in entries} == {
        "basic:bob": "basic",
        "api-key": "header",
    }
