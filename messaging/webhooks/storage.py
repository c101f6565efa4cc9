"""Writing a verified callback: one INSERT that also proves its nonce unused.

On PostgreSQL the INSERT is prepared once per connection and run through libpq directly:
psycopg's cursor layer costs more CPU per execution than the rest of the view (measured with
bench/webhook_ingest.py). Everything but the body travels as text; the body as binary (bytea).
Behind a transaction-mode pooler (DATABASE_POOLER) a named statement would live on one server
session while the next request may get another (PgBouncer 1.18, Debian 12's, does not track
them), so there the same text goes as an unnamed statement (PQexecParams): still libpq directly,
one round trip, parsed each time.

A nonce already stored for the service is not an error here: the row is not inserted
(ON CONFLICT DO NOTHING) and the outcome is None.
"""

from __future__ import annotations

import weakref
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import errors, pq

from messaging.choices import CallbackStatus, VerifiedWith
from messaging.models import Callback


class CallbackRow(NamedTuple):
    """The values of one new callback row, in the column order of the INSERT."""

    service_id: int
    trigger: str
    app_id: str
    message_id: str
    contact_id: str
    conversation_id: str
    nonce: str
    signed_at: datetime
    received_at: datetime
    raw_body: bytes
    dedupe_key: str
    # Which webhook secret verified it (VerifiedWith): one more column of the same INSERT.
    verified_with: str = VerifiedWith.CURRENT.value
    # Built and signed by the simulator (messaging.simulator), which says so when it hands the
    # body to `ingest.receive`; nothing in a request can set it.
    simulated: bool = False


# The columns after CallbackRow's, with the constant values every new callback starts with.
_INITIAL = (
    ("status", CallbackStatus.PENDING.value),
    ("status_reason", ""),
    ("summary", "{}"),
    ("attempts", 0),
)
_FIELDS = (*CallbackRow._fields, *(name for name, _ in _INITIAL))
_INITIAL_VALUES = tuple(value for _, value in _INITIAL)
_INITIAL_TEXT = tuple(str(value).encode() for value in _INITIAL_VALUES)


def insert_callback(connection: BaseDatabaseWrapper, row: CallbackRow) -> int | None:
    """Insert `row` as a pending callback; its new id, or None when its nonce was used.

    Raises IntegrityError when the row names a service that does not exist.
    """
    if connection.vendor == "postgresql":
        return _insert_postgresql(connection, row)
    return _insert_generic(connection, row)


@cache
def _insert_sql(vendor: str) -> str:
    """The INSERT of one callback, built once per process from the model.

    Only model metadata goes into the text; every value is a bound parameter ("%s" for a
    DB-API cursor, "$n" for the statement prepared through libpq).
    """
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    meta = Callback._meta
    fields = {f.attname: f for f in meta.concrete_fields}
    columns = ", ".join(quote(fields[name].column) for name in _FIELDS)
    if vendor == "postgresql":
        values = ", ".join(f"${n}" for n in range(1, len(_FIELDS) + 1))
    else:
        values = ", ".join(["%s"] * len(_FIELDS))
    service = quote(fields["service_id"].column)
    nonce = quote(fields["nonce"].column)
    return (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values}) "  # noqa: S608
        f"ON CONFLICT ({service}, {nonce}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )


def _insert_generic(connection: BaseDatabaseWrapper, row: CallbackRow) -> int | None:
    adapt = connection.ops.adapt_datetimefield_value
    params = (
        *row[:7],
        adapt(row.signed_at),
        adapt(row.received_at),
        row.raw_body,
        row.dedupe_key,
        row.verified_with,
        row.simulated,
        *_INITIAL_VALUES,
    )
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor), params)
        fetched = cursor.fetchone()
    return None if fetched is None else int(fetched[0])


# The prepared statement's name; the connections that have it prepared.
_STATEMENT = b"configurator_callback_insert"
_PARAM_FORMATS = [int(name == "raw_body") for name in _FIELDS]
_prepared_on: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()


def _insert_postgresql(connection: BaseDatabaseWrapper, row: CallbackRow) -> int | None:
    params = [
        str(row.service_id).encode(),
        row.trigger.encode(),
        row.app_id.encode(),
        row.message_id.encode(),
        row.contact_id.encode(),
        row.conversation_id.encode(),
        row.nonce.encode(),
        row.signed_at.isoformat().encode(),
        row.received_at.isoformat().encode(),
        row.raw_body,
        row.dedupe_key.encode(),
        row.verified_with.encode(),
        b"true" if row.simulated else b"false",
        *_INITIAL_TEXT,
    ]
    connection.ensure_connection()
    with connection.wrap_database_errors:
        conn = connection.connection
        if settings.DATABASE_POOLER:
            sql = _insert_sql(connection.vendor).encode()
            result = conn.pgconn.exec_params(sql, params, None, _PARAM_FORMATS)
            error = _error(conn, result)
        else:
            result, error = _exec_prepared(connection, params)
        if error is not None:
            raise error
        value = result.get_value(0, 0) if result.ntuples else None
    return None if value is None else int(value)


def _exec_prepared(
    connection: BaseDatabaseWrapper, params: list[bytes]
) -> tuple[pq.abc.PGresult, psycopg.Error | None]:
    """Run the connection's prepared INSERT (preparing it first where needed)."""
    conn = connection.connection
    if conn not in _prepared_on:
        _prepare(connection)
    result = conn.pgconn.exec_prepared(_STATEMENT, params, _PARAM_FORMATS)
    error = _error(conn, result)
    if isinstance(error, errors.InvalidSqlStatementName):
        # The server forgot the statement (DISCARD ALL of a session pooler): prepare it again.
        _prepare(connection)
        result = conn.pgconn.exec_prepared(_STATEMENT, params, _PARAM_FORMATS)
        error = _error(conn, result)
    return result, error


def _prepare(connection: BaseDatabaseWrapper) -> None:
    conn = connection.connection
    error = _error(conn, conn.pgconn.prepare(_STATEMENT, _insert_sql(connection.vendor).encode()))
    if error is not None:
        raise error
    _prepared_on.add(conn)


def _error(conn: psycopg.Connection[Any], result: pq.abc.PGresult) -> psycopg.Error | None:
    """The psycopg error a libpq result carries, if it failed."""
    if result.status != pq.ExecStatus.FATAL_ERROR:
        return None
    return errors.error_from_result(result, encoding=conn.info.encoding)
