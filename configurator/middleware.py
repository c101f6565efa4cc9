"""Requests refused before any view sees them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext_lazy as _

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
