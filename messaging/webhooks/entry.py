"""The WSGI entry that answers Sinch's callbacks ahead of Django's request handling.

A callback is a machine's signed POST. Sessions, CSRF, authentication, messages, URL resolution
and the request signals do nothing for it, yet under gunicorn they cost about as much CPU as
verifying and storing it (bench/webhook_ingest.py). `with_webhook_entry` wraps the Django
application: POST /webhooks/sinch/<id>/ with a declared length and an allowed host is answered
here through `ingest.receive`, the function the Django view calls, so both answer alike; every
other request, malformed ones included, goes to Django unchanged.

What Django's stack would have done for such a request is done here with Django's own code: the
host is checked by HttpRequest.get_host, the security headers are those SecurityMiddleware and
XFrameOptionsMiddleware add (worked out once), and the database connection is closed when it is
obsolete or broken, before and after the request, as `close_old_connections` does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import cache
from http import HTTPStatus
from typing import Any

from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware

from messaging.webhooks.ingest import receive

logger = logging.getLogger(__name__)

PREFIX = "/webhooks/sinch/"

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def with_webhook_entry(django_application: WSGIApplication) -> WSGIApplication:
    """`django_application`, with Sinch's callbacks answered before it is reached."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX) and environ.get("REQUEST_METHOD") == "POST":
            service_id = _digits(path[len(PREFIX) :].removesuffix("/"))
            length = _digits(environ.get("CONTENT_LENGTH", ""))
            if service_id is not None and path.endswith("/") and length is not None:
                request = _EnvironRequest(environ)
                if _host_allowed(request):
                    return _answer(request, start_response, service_id, length)
        return django_application(environ, start_response)

    return application


def _digits(text: str) -> int | None:
    """`text` as a number when it is ASCII digits only ([0-9]+, as the URL's int converter)."""
    return int(text) if text.isascii() and text.isdigit() else None


class _EnvironRequest(HttpRequest):
    """Just enough of a request over the WSGI environ for Django's own host and HTTPS checks.

    Like WSGIRequest, it skips HttpRequest.__init__: get_host and is_secure read META only.
    """

    def __init__(self, environ: dict[str, Any]) -> None:
        self.META = environ

    def _get_scheme(self) -> str:
        return str(self.META.get("wsgi.url_scheme", "http"))


def _host_allowed(request: HttpRequest) -> bool:
    """Django's ALLOWED_HOSTS check; a refused host goes to Django for its 400 and log line."""
    try:
        request.get_host()
    except DisallowedHost:
        return False
    return True


def _answer(
    request: HttpRequest, start_response: Callable[..., Any], service_id: int, length: int
) -> list[bytes]:
    environ = request.META
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        _close_if_obsolete(connection)
        status, content = receive(
            service_id=service_id,
            meta=environ,
            read_body=lambda: environ["wsgi.input"].read(length) if length else b"",
        )
    except Exception:
        # What Django's handler would turn into a 500: logged, never shown.
        logger.exception("sinch webhook failed: service=%s", service_id)
        status, content = 500, b'{"error": "internal error"}'
    finally:
        _close_if_obsolete(connection)
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(content))),
        *_security_headers(request.is_secure()),
    ]
    start_response(_status_line(status), headers)
    return [content]


def _close_if_obsolete(connection: Any) -> None:
    # A connection inside a transaction belongs to a caller (a test's atomic block); a request
    # in production always starts in autocommit.
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


@cache
def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


@cache
def _security_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    """The headers SecurityMiddleware and XFrameOptionsMiddleware add to a JSON answer.

    Worked out once per process (and again when a setting changes) by running them.
    """
    request = _EnvironRequest({"wsgi.url_scheme": "https" if secure else "http"})
    response = HttpResponse(content_type="application/json")
    for middleware in (SecurityMiddleware, XFrameOptionsMiddleware):
        response = middleware(_not_called).process_response(request, response)
    return tuple(item for item in response.items() if item[0] != "Content-Type")


def _not_called(request: HttpRequest) -> HttpResponse:
    raise AssertionError("only the middlewares' process_response runs")


@receiver(setting_changed)
def _forget_security_headers(**kwargs: Any) -> None:
    _security_headers.cache_clear()
