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
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from configurator.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


class _InRequestThread(HealthCheck):
    """A check that runs in the request's own thread and database connection.

    django-health-check runs a synchronous check in a thread pool, where each check would open
    (and keep, with CONN_MAX_AGE) a database connection of its own; here it runs where the
    request runs, and its connection is closed with the request's.
    """

    name = ""

    async def run(self) -> None:
        await sync_to_async(self.check, thread_sensitive=True)()

    def check(self) -> None:
        raise NotImplementedError


@dataclasses.dataclass
class DatabaseCheck(_InRequestThread):
    """The database answers a query."""

    name = "database"

    def check(self) -> None:
        try:
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError as exc:
            logger.warning("health: the database does not answer: %s", exc)
            raise ServiceUnavailable("the database does not answer") from None


_migrations_applied = False


@dataclasses.dataclass
class MigrationsCheck(_InRequestThread):
    """Every migration this code ships is applied (a deployment that skipped `migrate` fails)."""

    name = "migrations"

    def check(self) -> None:
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
class WorkerCheck(_InRequestThread):
    """A `db_worker` wrote its heartbeat within WORKER_STALE_SECONDS."""

    name = "worker"

    def check(self) -> None:
        stale: int = settings.WORKER_STALE_SECONDS
        since = timezone.now() - timedelta(seconds=stale)
        try:
            seen = WorkerHeartbeat.objects.filter(seen_at__gte=since).exists()
        except DatabaseError as exc:
            logger.warning("health: the workers' heartbeats could not be read: %s", exc)
            raise ServiceUnavailable("the workers' heartbeats could not be read") from None
        if not seen:
            raise ServiceUnavailable(f"no worker seen in the last {stale} s")


class ProbeView(HealthCheckView):
    """Runs the checks (django-health-check) and answers JSON: 200 when all pass, else 503.

    Always JSON, whatever the Accept header (probes send various ones), with each check by name:
    `{"status": "ok", "checks": {"database": {"status": "ok"}, ...}}`; a failing one says
    `"unavailable"` and a fixed sentence.
    """

    checks: tuple[type[HealthCheck], ...] = ()
    http_method_names = ["get", "head"]

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with self.get_executor() as executor:
            results = [await check.get_result(executor) for check in self.get_checks()]
        failed = any(result.error for result in results)
        body: dict[str, Any] = {"status": "unavailable" if failed else "ok", "checks": {}}
        for result in results:
            name = getattr(result.check, "name", "") or type(result.check).__name__
            if result.error is None:
                body["checks"][name] = {"status": "ok"}
            else:
                body["checks"][name] = {"status": "unavailable", "detail": result.error.message}
        return JsonResponse(body, status=503 if failed else 200)


class LiveView(ProbeView):
    """GET /health/live: the process is up and answers (no check)."""

    checks = ()


class ReadyView(ProbeView):
    """GET /health/ready: database, migrations, a live worker."""

    checks = (DatabaseCheck, MigrationsCheck, WorkerCheck)


live = LiveView.as_view()
ready = ReadyView.as_view()
