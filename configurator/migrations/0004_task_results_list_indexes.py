"""Indexes for the task-results admin list: newest first, and newest first of one status.

The table belongs to django-tasks-db, so, as in 0002, the indexes are SQL of this app that the
package's migrations never see. On PostgreSQL they are built CONCURRENTLY (writes to the table
go on while they build, as `AddIndexConcurrentlyWherePossible` does for the project's tables),
which cannot run in a transaction: the migration is not atomic.
"""

from typing import Any

from django.db import migrations

TABLE = "django_tasks_database_dbtaskresult"
INDEXES = {
    "configurator_task_enqueued": "(enqueued_at)",
    "configurator_task_status_enqueued": "(status, enqueued_at)",
}


def create(apps: Any, schema_editor: Any) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name, columns in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX {concurrently}IF NOT EXISTS {name} ON {TABLE} {columns}"
        )


def drop(apps: Any, schema_editor: Any) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("configurator", "0003_api_tokens"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
