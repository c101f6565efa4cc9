"""Requests refused before any view sees them, and the operations endpoints answered early."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _

from configurator import health, metrics

NUL = "\x00"
NOT_ALLOWED = _("Null characters are not allowed.")


class RejectNulMiddleware:
    """A NUL character in the path or the query string is a 400, whatever the view.

    PostgreSQL refuses text containing NUL, so such a value reaching a lookup (an object id in
    the path, a filter in the query string, a login attempt recorded with its path) would be a
    500 there; no address of this application ever contains one. The answer names the query
    parameter, as DRF's errors do: JSON under /api/, plain text elsewhere.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fault = _nul_fault(request)
        if fault is None:
            return self.get_response(request)
        field, message = fault
        if request.path_info.startswith("/api/"):
            return JsonResponse({field: [message]}, status=400)
        return HttpResponseBadRequest(
            f"{field}: {message}\n", content_type="text/plain; charset=utf-8"
        )


def _nul_fault(request: HttpRequest) -> tuple[str, str] | None:
    """(what holds the NUL, the message) when the path or the query string has one."""
    if NUL in request.path_info or NUL in request.path:
        return "path", str(NOT_ALLOWED)
    raw_query = request.META.get("QUERY_STRING", "")
    if NUL not in raw_query and "%00" not in raw_query:
        return None
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in value for value in values):
            return (name.replace(NUL, "") or "query"), str(NOT_ALLOWED)
    return "query", str(NOT_ALLOWED)


# The operations endpoints (DESIGN.md's contract), with or without a trailing slash.
OPERATIONS: dict[str, Callable[[HttpRequest], HttpResponseBase]] = {
    "/health/live": health.live,
    "/health/ready": health.ready,
    "/metrics": metrics.metrics_view,
}
_OPERATIONS_PATH = re.compile("^(" + "|".join(map(re.escape, OPERATIONS)) + ")/?$")


class OperationsMiddleware:
    """Answers /health/live, /health/ready and /metrics before the host check and HTTPS redirect.

    Probes and scrapers speak plain HTTP to a pod or host by its address (Host: 10.1.2.3:8000):
    SecurityMiddleware would redirect them to HTTPS (SECURE_SSL_REDIRECT) and CommonMiddleware
    would refuse the host (ALLOWED_HOSTS) with a 400, so a healthy server would look dead. These
    answers build no URL from the host and set no cookie, so the host need not be checked;
    /metrics has its own protection (configurator.metrics.scrape_refusal). Placed right after
    RejectNulMiddleware, before SecurityMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        match = _OPERATIONS_PATH.match(request.path_info)
        if match is None:
            return self.get_response(request)
        return OPERATIONS[match[1]](request)
