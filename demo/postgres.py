"""The demo's biggest tables written by PostgreSQL itself: one INSERT … SELECT generate_series.

Through the ORM a million callbacks take ten minutes; built by the database, well under one.
The rows are the ones `demo.dataset` makes on other databases, from the same spreads
(`demo.scales`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django_tasks_db.models import DBTaskResult

from demo.scales import CALLBACK_STATUSES, CALLBACK_TRIGGERS, DAYS, TASK_DAYS, TASK_PATHS, Scale
from messaging.models import Callback, MessagingService


def task_results_insert(*, count: int, since: datetime) -> None:
    """The task rows in one INSERT … SELECT generate_series (PostgreSQL), as the callbacks."""
    paths = [path for path, weight in TASK_PATHS for _ in range(weight)]
    sql = f"""
        INSERT INTO {DBTaskResult._meta.db_table} (
            id, status, args_kwargs, priority, task_path, queue_name, backend_name,
            run_after, enqueued_at, started_at, finished_at, return_value,
            exception_class_path, traceback, worker_ids
        )
        SELECT
            gen_random_uuid(), CASE WHEN failed THEN 'FAILED' ELSE 'SUCCESSFUL' END,
            '{{"args": [], "kwargs": {{}}}}'::jsonb, 0, path, 'default', 'default',
            enqueued, enqueued, enqueued,
            enqueued + random() * interval '900 milliseconds',
            CASE WHEN failed THEN NULL ELSE '1'::jsonb END,
            CASE WHEN failed THEN 'builtins.RuntimeError' ELSE '' END,
            CASE WHEN failed THEN 'Traceback (demo data)' ELSE '' END,
            '["demo-worker"]'::jsonb
        FROM (
            SELECT
                random() < 0.01 AS failed,
                (%(paths)s::text[])[1 + floor(random() * 100)::int] AS path,
                %(since)s + random() * %(seconds)s * interval '1 second' AS enqueued
            FROM generate_series(1, %(n)s)
        ) AS row
        ORDER BY enqueued
    """  # noqa: S608 - the only interpolation is the model's own table name
    with connection.cursor() as cursor:
        cursor.execute(
            sql, {"n": count, "paths": paths, "since": since, "seconds": TASK_DAYS * 86400}
        )


def callbacks_insert(
    *, apps: list[tuple[MessagingService, str]], scale: Scale, tag: str, start: datetime
) -> None:
    """The million callbacks in one INSERT … SELECT generate_series (PostgreSQL).

    The same rows as `DemoBuilder._callbacks` makes (one app after another, a contact's Sinch ids,
    weighted triggers and statuses, a time in the last 30 days), built by the database:
    through the ORM a million rows take ten minutes, here well under one.
    """

    def spread(table: tuple[tuple[str, int], ...]) -> list[str]:
        # A hundred values in proportion to the weights: picking one at random is the spread.
        return [value for value, weight in table for _ in range(weight)]

    params: dict[str, Any] = {
        "n": scale.callbacks,
        "contacts": scale.contacts,
        "service_ids": [service.pk for service, _ in apps],
        "app_ids": [app_id for _, app_id in apps],
        "triggers": spread(CALLBACK_TRIGGERS),
        "statuses": spread(CALLBACK_STATUSES),
        "message_prefix": f"DEMOCB{tag.upper()}",
        "contact_prefix": f"DEMOCONTACT{tag.upper()}",
        "conversation_prefix": f"DEMOCONV{tag.upper()}",
        "nonce_prefix": f"demo-{tag}-",
        "start": start,
        "seconds": DAYS * 86400,
    }
    sql = f"""
        INSERT INTO {Callback._meta.db_table} (
            service_id, trigger, app_id, message_id, contact_id, conversation_id, nonce,
            signed_at, received_at, raw_body, dedupe_key, status, status_reason, summary,
            attempts, processed_at, claimed_by, takeovers
        )
        SELECT
            service_id, trigger, app_id, message_id, contact_id, conversation_id,
            %(nonce_prefix)s || n, received, received,
            convert_to(json_build_object(
                'app_id', app_id, 'accepted_time', received, 'demo', true,
                'message', json_build_object(
                    'id', message_id, 'conversation_id', conversation_id)
            )::text, 'UTF8'),
            trigger || ':' || message_id,
            status, CASE WHEN status = 'processed' THEN '' ELSE 'demo data' END,
            jsonb_build_object('trigger', trigger, 'message_id', message_id),
            1, received + random() * interval '400 milliseconds', '', 0
        FROM (
            SELECT
                n,
                (%(service_ids)s::int[])[1 + n %% cardinality(%(service_ids)s::int[])]
                    AS service_id,
                (%(app_ids)s::text[])[1 + n %% cardinality(%(app_ids)s::text[])] AS app_id,
                (%(triggers)s::text[])[1 + floor(random() * 100)::int] AS trigger,
                (%(statuses)s::text[])[1 + floor(random() * 100)::int] AS status,
                %(message_prefix)s || lpad(n::text, 9, '0') AS message_id,
                %(contact_prefix)s || lpad((n %% %(contacts)s)::text, 8, '0') AS contact_id,
                %(conversation_prefix)s || lpad((n %% %(contacts)s)::text, 8, '0')
                    AS conversation_id,
                %(start)s + random() * %(seconds)s * interval '1 second' AS received
            FROM generate_series(0, %(n)s - 1) AS n
        ) AS row
        ORDER BY received
    """  # noqa: S608 - the only interpolation is the model's own table name
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
