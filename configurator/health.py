"""Health probes for load balancers and orchestrators (django-health-check).

`/health/live`: the process answers (no check: a database outage must not get every web process
restarted). `/health/ready`: the database answers, every migration is applied, and a worker was
seen within WORKER_STALE_SECONDS; otherwise 503, so that a load balancer sends no traffic to a
server whose callbacks would never be processed. Both answer JSON naming each check and its
status, and say nothing more: the reasons are fixed words, the details go to the log.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views import View
from health_check.base import HealthCheck
from health_check.exceptions import HealthCheckException, ServiceUnavailable

from configurator import workers

logger = logging.getLogger(__name__)


class _Check(HealthCheck):  # type: ignore[misc]  # health_check ships no types
    """A django-health-check check, run synchronously in the request's thread (`ProbeView`).

    The library's own view runs checks on an event loop, synchronous ones in a thread pool where
    each would open (and, with CONN_MAX_AGE, keep) a database connection of its own; under a
    WSGI server that is an event loop and a thread per probe for three small queries.
    """

    name = ""

    def run(self) -> None:
        raise NotImplementedError


@dataclasses.dataclass
class DatabaseCheck(_Check):
    """The database answers a query."""

    name = "database"

    def run(self) -> None:
        try:
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError as exc:
            logger.warning("health: the database does not answer: %s", exc)
            raise ServiceUnavailable("the database does not answer") from None


_migrations_applied = False


@dataclasses.dataclass
class MigrationsCheck(_Check):
    """Every migration this code ships is applied (a deployment that skipped `migrate` fails)."""

    name = "migrations"

    def run(self) -> None:
        global _migrations_applied
        if _migrations_applied:
            # Applied migrations stay applied while this code runs: read the graph once.
            return
        try:
            executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            logger.warning("health: the migrations could not be read: %s", exc)
            raise ServiceUnavailable("the applied migrations could not be read") from None
        if plan:
            logger.warning("health: %d migrations are not applied", len(plan))
            raise ServiceUnavailable(f"{len(plan)} migrations are not applied")
        _migrations_applied = True


def migrations_check_forget() -> None:
    """Read the migrations again at the next probe (tests that unapply one)."""
    global _migrations_applied
    _migrations_applied = False


@dataclasses.dataclass
class WorkerCheck(_Check):
    """A `db_worker` wrote its heartbeat within WORKER_STALE_SECONDS."""

    name = "worker"

    def run(self) -> None:
        stale: int = settings.WORKER_STALE_SECONDS
        try:
            seen = workers.any_live()
        except DatabaseError as exc:
            logger.warning("health: the workers' heartbeats could not be read: %s", exc)
            raise ServiceUnavailable("the workers' heartbeats could not be read") from None
        if not seen:
            raise ServiceUnavailable(f"no worker seen in the last {stale} s")


class ProbeView(View):
    """Runs the checks in order and answers JSON: 200 when all pass, else 503.

    Always JSON, whatever the Accept header (probes send various ones), with each check by name:
    `{"status": "ok", "checks": {"database": {"status": "ok"}, ...}}`; a failing one says
    `"unavailable"` and the fixed sentence of its HealthCheckException. An unexpected error is
    logged and shown as "unknown error", as django-health-check does.
    """

    checks: tuple[type[_Check], ...] = ()
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        results: dict[str, dict[str, str]] = {}
        for check_class in self.checks:
            check = check_class()
            try:
                check.run()
            except HealthCheckException as exc:
                results[check.name] = {"status": "unavailable", "detail": str(exc.message)}
            except Exception:
                logger.exception("health: check %s failed unexpectedly", check.name)
                results[check.name] = {"status": "unavailable", "detail": "unknown error"}
            else:
                results[check.name] = {"status": "ok"}
        failed = any(result["status"] != "ok" for result in results.values())
        response = JsonResponse(
            {"status": "unavailable" if failed else "ok", "checks": results},
            status=503 if failed else 200,
        )
        add_never_cache_headers(response)
        return response


class LiveView(ProbeView):
    """GET /health/live: the process is up and answers (no check)."""

    checks = ()


class ReadyView(ProbeView):
    """GET /health/ready: database, migrations, a live worker."""

    checks = (DatabaseCheck, MigrationsCheck, WorkerCheck)


live = LiveView.as_view()
ready = ReadyView.as_view()
