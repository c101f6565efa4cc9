"""Task rows queued by earlier versions under `messaging.tasks.<name>` still run."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from configurator import bulk
from messaging.models import Callback
from messaging.services import reprocess_walk
from messaging.wake import process_callbacks
from tests.factories import make_service


@pytest.mark.django_db
def test_a_processing_row_queued_under_the_old_path_runs_the_task() -> None:
    process_callbacks.enqueue()
    row = DBTaskResult.objects.get(task_path=process_callbacks.module_path)
    row.task_path = "messaging.tasks.process_callbacks"
    row.save(update_fields=["task_path"])

    row.refresh_from_db()
    assert row.task.func is process_callbacks.func
    assert row.task.call() == 0


@pytest.mark.django_db
def test_a_reprocess_walk_queued_under_the_old_path_runs_and_is_resumable() -> None:
    service = make_service(app_id="01OLDPATHAPP")
    now = timezone.now()
    Callback.objects.bulk_create(
        Callback(
            service=service,
            nonce=f"old-path-{number}",
            signed_at=now,
            raw_body=b"{}",
            dedupe_key=f"old-path-{number}",
            status="failed",
        )
        for number in range(3)
    )
    token = bulk.selection_dump(Callback.objects.all())
    row = DBTaskResult.objects.create(
        task_path="messaging.tasks.reprocess_walk",
        args_kwargs={"args": [token, 0, bulk.highest_key(Callback)], "kwargs": {}},
        backend_name="default",
    )

    assert bulk.is_resumable("messaging.tasks.reprocess_walk")
    assert bulk.is_resumable(reprocess_walk.module_path)
    assert row.task.func is reprocess_walk.func
    assert row.task.call(*row.args_kwargs["args"]) == 3
    assert Callback.objects.filter(status="pending").count() == 3
