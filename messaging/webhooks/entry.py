"""The WSGI entry that answers Sinch's callbacks ahead of Django's request handling.

A callback is a machine's signed POST. Sessions, CSRF, authentication, messages, URL resolution
and the request signals do nothing for it, yet under gunicorn they cost about as much CPU as
verifying and storing it (bench/webhook_ingest.py). `with_webhook_entry` wraps the Django
application: POST /webhooks/sinch/<id>/ with a declared length and an allowed host is answered
here through `ingest.receive`, the function the Django view calls, so both answer alike; every
other request, malformed ones included, goes to Django unchanged.

What Django's stack would have done for such a request is done here explicitly: the host is
checked against ALLOWED_HOSTS, the security headers are the ones SecurityMiddleware and
XFrameOptionsMiddleware add, and the database connection is closed when it is obsolete or broken,
before and after the request, as `close_old_connections` does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import cache
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections
from django.dispatch import receiver
from django.http.request import split_domain_port, validate_host

from messaging.webhooks.ingest import receive

logger = logging.getLogger("messaging.webhooks")

PREFIX = "/webhooks/sinch/"

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def with_webhook_entry(django_application: WSGIApplication) -> WSGIApplication:
    """`django_application`, with Sinch's callbacks answered before it is reached."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX) and environ.get("REQUEST_METHOD") == "POST":
            service_id = _digits(path[len(PREFIX) :].removesuffix("/"))
            length = _digits(environ.get("CONTENT_LENGTH", ""))
            if (
                service_id is not None
                and path.endswith("/")
                and length is not None
                and _host_allowed(environ)
            ):
                return _answer(environ, start_response, service_id, length)
        return django_application(environ, start_response)

    return application


def _digits(text: str) -> int | None:
    """`text` as a number when it is ASCII digits only ([0-9]+, as the URL's int converter)."""
    return int(text) if text.isascii() and text.isdigit() else None


def _host_allowed(environ: dict[str, Any]) -> bool:
    """HttpRequest.get_host's check; a refused host goes to Django for its 400 and log line."""
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        host = environ["HTTP_X_FORWARDED_HOST"]
    elif "HTTP_HOST" in environ:
        host = environ["HTTP_HOST"]
    else:
        return False
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


def _answer(
    environ: dict[str, Any], start_response: Callable[..., Any], service_id: int, length: int
) -> list[bytes]:
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
        *_security_headers(_is_secure(environ)),
    ]
    start_response(_STATUS_LINES.get(status) or _status_line(status), headers)
    return [content]


def _close_if_obsolete(connection: Any) -> None:
    # A connection inside a transaction belongs to a caller (a test's atomic block); a request
    # in production always starts in autocommit.
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


_STATUS_LINES = {status: _status_line(status) for status in (200, 400, 401, 404, 413, 500, 503)}


@cache
def _security_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    """The headers SecurityMiddleware and XFrameOptionsMiddleware add to a JSON answer."""
    headers = []
    if settings.SECURE_HSTS_SECONDS and secure:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append(("Strict-Transport-Security", value))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        if not isinstance(policy, str):
            policy = ",".join(policy)
        headers.append(("Referrer-Policy", policy))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()))
    return tuple(headers)


@receiver(setting_changed)
def _forget_security_headers(**kwargs: Any) -> None:
    _security_headers.cache_clear()


def _is_secure(environ: dict[str, Any]) -> bool:
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        name, secure_value = proxy_header
        value = environ.get(name)
        if value is not None:
            return bool(value.split(",", 1)[0].strip() == secure_value)
    return environ.get("wsgi.url_scheme") == "https"
