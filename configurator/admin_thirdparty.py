"""Admin pages of other packages' tables that grow with traffic: task results and login records.

django-tasks-db and django-axes register default admins that count the whole table on every
view, list DISTINCT values as filter choices (queue names, priorities, paths), sort on unindexed
columns and offer a date drill-down (MIN/MAX over the table). Task results grow with callbacks
(about 0.6 rows per callback, kept 7 days) and axes' rows with a login attack, so those pages
would slow down with the table. They are replaced here by pages built like the project's own
big lists (`LargeTableAdminMixin`): bounded counts, filters whose choices are fixed, sorting only
on an indexed column, searches by exact, indexed values.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import django_tasks_db.admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_tasks_db.models import DBTaskResult

from configurator.admin_mixins import LargeTableAdminMixin


class TaskResultAdmin(LargeTableAdminMixin, django_tasks_db.admin.DBTaskResultAdmin):
    """Task results, newest first, filtered by status (a fixed set): read-only.

    The package's page also filters by priority and queue name, whose choices are a DISTINCT
    over the table. Newest first, and newest first of one status, are served by the indexes of
    migration configurator 0004.
    """

    # The package's class declares these as tuples of its own lengths.
    list_display = ("id", "task_name", "status", "enqueued_at", "started_at", "finished_at")  # type: ignore[assignment]
    list_filter = ("status",)  # type: ignore[assignment]
    # Sorted only by enqueue time, filtered by URL only by status (LargeTableAdminMixin).
    ordering = ["-enqueued_at"]
    grows_with_traffic = True
    # Arguments, return value and traceback can be long; the list shows none of them.
    list_defer = ("args_kwargs", "return_value", "traceback", "worker_ids")


class _LoginRecordAdmin(LargeTableAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A read-only list of login records, newest first, searched by exact IP or username.

    Newest first is by id (the primary key's index) rather than by the unindexed attempt time:
    rows are inserted as they happen, so the orders agree. A search is an exact match on an
    indexed column: a contains-search would read the whole table.
    """

    list_display: tuple[str, ...] = (
        "attempt_time",
        "ip_address",
        "username",
        "user_agent",
        "path_info",
    )
    # Not sortable (the id is not a column), no URL filters (LargeTableAdminMixin).
    ordering = ["-pk"]
    grows_with_traffic = True
    search_fields = ["=username"]
    search_help_text = _("An exact IP address or username.")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        try:
            ipaddress.ip_address(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        # Not through search_fields: a term that is no address would be an error on PostgreSQL's
        # inet column.
        return queryset.filter(ip_address=term), False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AccessAttemptAdmin(_LoginRecordAdmin):
    """Clients' failed logins counted towards a lockout; deleting one lifts its lockout."""

    list_display = (*_LoginRecordAdmin.list_display, "failures_since_start", "status")
    fields = ("username", "ip_address", "user_agent", "path_info", "failures_since_start")

    @admin.display(description=_("Status"))
    def status(self, obj: AccessAttempt) -> str:
        limit = settings.AXES_FAILURE_LIMIT
        if obj.failures_since_start >= limit:
            return str(_("Locked out"))
        return str(_("%(left)s attempts left") % {"left": limit - obj.failures_since_start})


class AccessLogAdmin(_LoginRecordAdmin):
    """Successful logins, with their logout time: read-only."""

    list_display = (*_LoginRecordAdmin.list_display, "logout_time")
    fields = ("username", "ip_address", "user_agent", "path_info", "attempt_time", "logout_time")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AccessFailureLogAdmin(_LoginRecordAdmin):
    """Every failed login, whether it was locked out: read-only."""

    list_display = (*_LoginRecordAdmin.list_display, "locked_out")
    fields = ("username", "ip_address", "user_agent", "path_info", "attempt_time", "locked_out")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


BOUNDED_ADMINS: dict[type[Any], type[admin.ModelAdmin[Any]]] = {
    DBTaskResult: TaskResultAdmin,
    AccessAttempt: AccessAttemptAdmin,
    AccessLog: AccessLogAdmin,
    AccessFailureLog: AccessFailureLogAdmin,
}


def bounded_admins_register() -> None:
    """Replace the packages' pages by these (called once every app's admin is registered).

    A page the package did not register (axes' with AXES_ENABLE_ADMIN off) stays away.
    """
    for model, model_admin in BOUNDED_ADMINS.items():
        if admin.site.is_registered(model):
            admin.site.unregister(model)
            admin.site.register(model, model_admin)
