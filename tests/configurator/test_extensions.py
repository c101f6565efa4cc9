"""The extension points: one semantics for all, filled by the apps in their ready()."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from cockpit.home import home_page
from configurator import extensions
from configurator.extensions import ExtensionPoint
from conversations import overflow
from integrations.admin.delivery import DeliveryInline
from messaging.selectors import sinch_apps


@dataclass(frozen=True)
class Named:
    name: str
    value: int


def test_registering_twice_keeps_one_item() -> None:
    point: ExtensionPoint[object] = ExtensionPoint("point", "A point for the test.")

    def listener() -> None: ...

    point.register(listener)
    point.register(listener)

    assert list(point) == [listener]


def test_an_item_with_a_registered_key_replaces_it_in_place() -> None:
    point: ExtensionPoint[Named] = ExtensionPoint("point", "Keyed.", key=lambda item: item.name)
    point.register(Named("a", 1))
    point.register(Named("b", 2))

    point.register(Named("a", 3))

    assert list(point) == [Named("a", 3), Named("b", 2)]


def test_unregister_removes_by_key_and_ignores_what_is_not_there() -> None:
    point: ExtensionPoint[Named] = ExtensionPoint("point", "Keyed.", key=lambda item: item.name)
    point.register(Named("a", 1))

    point.unregister(Named("a", 99))
    point.unregister(Named("never", 0))

    assert list(point) == []


def test_a_listener_that_registers_during_a_round_is_not_called_in_it() -> None:
    point: ExtensionPoint[str] = ExtensionPoint("point", "Strings.")
    point.register("first")
    seen = []
    for item in point:
        point.register("late")
        seen.append(item)

    assert seen == ["first"]
    assert list(point) == ["first", "late"]


def test_every_point_says_what_it_is_for() -> None:
    points = [v for v in vars(extensions).values() if isinstance(v, ExtensionPoint)]

    assert len(points) == 12
    for point in points:
        assert getattr(extensions, point.name) is point
        assert point.__doc__ and len(point.__doc__) > 40


def test_the_apps_fill_the_points_in_their_ready() -> None:
    assert overflow.overflow_check_on_waiting in extensions.contact_event_after_commit
    assert overflow.overflow_check_on_queue_change in (
        extensions.queue_overflow_changed_after_commit
    )
    assert sinch_apps in extensions.sinch_app_directory
    assert DeliveryInline in extensions.contact_page_inlines
    # Walks queued under a task's former path resume too, without importing the old module.
    assert set(extensions.resumable_walks) >= {
        "messaging.services.reprocess_walk",
        "messaging.tasks.reprocess_walk",
        "integrations.dispatch.resend_walk",
        "integrations.tasks.resend_walk",
    }
    assert len(extensions.contact_event_in_transaction) == 1
    # The simulator's sandbox ahead of Sinch: simulated contacts' replies never reach Sinch.
    assert [type(g).__name__ for g in extensions.reply_gateways] == [
        "SandboxGateway",
        "SinchGateway",
    ]
    assert len(extensions.contact_event_holds) == 1
    assert list(extensions.admin_index_blocks) == [home_page]


def test_the_module_imports_no_other_app() -> None:
    code = (
        "import sys, configurator.extensions; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'queues', 'conversations', 'messaging', 'integrations', 'cockpit'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
