"""How the integrations app is put together: imports point one way, task paths stay valid,
the `set` keys are one table, "where it fires" is one function, `{contact.*}` is one list."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from configurator import bulk
from conversations.choices import ChannelType, Direction, Event
from conversations.snapshot import contact_snapshot
from integrations import dispatch, tasks
from integrations.choices import IntegrationChannelType, IntegrationDirection
from integrations.firing import firing_points, misses, scopes_of, trigger_rows
from integrations.models import Delivery
from integrations.placeholders import CONTACT_FIELDS, Kind
from integrations.schema import CONFIGURATION_SCHEMA
from integrations.set_keys import SET_KEYS
from integrations.testrun import sample_contact
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_integration, make_queue
from tests.httpsink import HttpsSink
from tests.taskrunner import run_ready_tasks

APP = Path(__file__).parents[2] / "integrations"


def _imports_of(path: Path) -> set[str]:
    """The `integrations.*` modules a module imports at its top level."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "integrations":
                found |= {f"integrations.{alias.name}" for alias in node.names}
            elif node.module.startswith("integrations."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("integrations.")}
    return found


def test_the_integrations_modules_import_one_way() -> None:
    graph = {
        f"integrations.{path.stem}": _imports_of(path)
        for path in APP.glob("*.py")
        if path.stem != "__init__"
    }

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for module in graph.get(start, set()):
            if module == target or (
                module not in seen and reaches(module, target, seen | {module})
            ):
                return True
        return False

    cycles = [module for module in graph if reaches(module, module, {module})]
    assert cycles == []
    assert "integrations.runtime" not in graph["integrations.dispatch"]
    assert graph["integrations.tasks"] == {"integrations.dispatch"}


def test_the_old_task_paths_name_the_tasks_of_dispatch() -> None:
    assert tasks.deliver_pending is dispatch.deliver_pending
    assert tasks.resend_walk is dispatch.resend_walk
    assert "integrations.tasks.deliver_pending" in dispatch.DELIVER_PENDING_PATHS
    assert bulk.is_resumable("integrations.tasks.resend_walk")
    assert bulk.is_resumable(dispatch.resend_walk.module_path)


@pytest.mark.django_db
def test_a_delivery_queued_under_the_old_task_path_is_sent(
    https_sink: HttpsSink, queue: Queue
) -> None:
    make_integration(queues=[queue], endpoint_url=f"{https_sink.url}/events", events=["queued"])
    make_contact(queue)
    row = DBTaskResult.objects.get()
    assert row.task_path == "integrations.dispatch.deliver_pending"
    DBTaskResult.objects.filter(pk=row.pk).update(task_path="integrations.tasks.deliver_pending")

    # While it waits the sweep knows the workers are behind, and enqueues nothing twice.
    Delivery.objects.update(due_at="2000-01-01T00:00:00Z")
    assert dispatch.deliveries_sweep() == 0
    run_ready_tasks()

    assert [r.json["event"] for r in https_sink.requests] == ["queued"]
    assert Delivery.objects.get().status == "succeeded"
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_the_schema_lists_the_set_keys_of_the_table() -> None:
    response = CONFIGURATION_SCHEMA["properties"]["response"]["properties"]
    assert list(response["set"]["properties"]) == list(SET_KEYS)


def test_trigger_rows_are_the_firing_points() -> None:
    scopes = scopes_of(queues=[(7, "chat", "Sales")], direct_chats=True, direct_calls=True)
    points = firing_points(
        channel_type="multi", direction="both", events=["queued", "ended"], scopes=scopes
    )
    rows = trigger_rows(
        channel_type="multi",
        direction="both",
        events=["ended", "queued"],
        queues=[(7, "chat")],
        direct_chats=True,
        direct_calls=True,
    )
    assert rows == [(p.event, p.channel_type, p.direction, p.scope.queue_id) for p in points]
    assert ("queued", "chat", "inbound", 7) in rows
    assert ("ended", "phone", "outbound", None) in rows
    assert not [row for row in rows if row[1] == "phone" and row[3] == 7]


def test_misses_is_empty_exactly_where_an_integration_fires() -> None:
    # Every configuration shape against every conversation: the test run's explanation and
    # the firing points (the trigger table) never disagree.
    scopes_variants = [
        scopes_of(queues=[(7, "chat", "Sales")], direct_chats=False, direct_calls=False),
        scopes_of(queues=[(8, "phone", "Hotline")], direct_chats=True, direct_calls=True),
        scopes_of(queues=[(9, "email", "Mail")], direct_chats=True, direct_calls=False),
    ]
    queues: list[tuple[int | None, str]] = [(7, "chat"), (8, "phone"), (9, "email"), (None, "")]
    for channel_type, direction, events, scopes in itertools.product(
        IntegrationChannelType.values,
        IntegrationDirection.values,
        [["received", "queued"], ["accepted", "ended", "abandoned"], []],
        scopes_variants,
    ):
        points = {
            (p.event, p.channel_type, p.direction, p.scope.queue_id)
            for p in firing_points(
                channel_type=channel_type, direction=direction, events=events, scopes=scopes
            )
        }
        for event, kind, (queue_id, _) in itertools.product(
            Event.values, itertools.product(ChannelType.values, Direction.values), queues
        ):
            reasons = misses(
                channel_type=channel_type,
                direction=direction,
                events=events,
                scopes=scopes,
                event=event,
                kind=kind,
                queue_id=queue_id,
            )
            fires = (event, *kind, queue_id) in points
            assert fires == (not reasons), (channel_type, direction, events, event, kind, queue_id)


def _shape(catalogue: Any, value: Any, where: str) -> list[str]:
    """Where a value's fields differ from the catalogue's (objects compared field by field)."""
    if not isinstance(catalogue, dict) or value is None:
        return []
    if not isinstance(value, dict):
        return [f"{where}: not an object"]
    faults = []
    if set(catalogue) != set(value):
        faults.append(f"{where}: catalogue {sorted(catalogue)} != {sorted(value)}")
    for key in set(catalogue) & set(value):
        faults += _shape(catalogue[key], value[key], f"{where}.{key}")
    return faults


@pytest.mark.django_db
def test_the_contact_catalogue_snapshot_and_sample_contact_agree(queue: Queue) -> None:
    agent = make_agent(queues=[queue])
    contact = make_contact(queue)
    contact.agent = contact.preferred_agent = contact.transferring_agent = agent
    contact.forwarding_queue = make_queue("Overflow")
    contact.save()
    contact.required_agents.set([agent])
    real = contact_snapshot(contact)
    integration = make_integration(queues=[queue])
    sample = sample_contact(integration)

    assert _shape(dict(CONTACT_FIELDS), real, "snapshot") == []
    assert _shape(dict(CONTACT_FIELDS), sample, "sample") == []
    assert set(real) == set(sample) == set(CONTACT_FIELDS)
    for field, node in CONTACT_FIELDS.items():
        if node is Kind.OBJECT and real[field] is not None:
            assert isinstance(real[field], list | dict), field
