"""A test client that calls the production WSGI application (configurator.wsgi) itself.

Django's test client builds its own handler, so it never passes through the lean webhook entry
that gunicorn serves; this one does, with the test client's interface (post/get, status_code,
json(), headers) so that the same tests can run through both.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils.datastructures import CaseInsensitiveMapping


class WSGIResponse:
    """What the application answered: status, headers and the whole body."""

    def __init__(self, status: str, headers: list[tuple[str, str]], content: bytes) -> None:
        self.status_code = int(status.split(" ", 1)[0])
        self.reason_phrase = status.split(" ", 1)[1]
        self.headers = CaseInsensitiveMapping(dict(headers))
        self.content = content

    def __getitem__(self, name: str) -> str:
        return str(self.headers[name])

    def json(self) -> Any:
        return json.loads(self.content)


class WSGIClient:
    """Requests to `application` as a WSGI server hands them over (Host header included)."""

    def __init__(self, application: Callable[..., Iterable[bytes]] | None = None) -> None:
        if application is None:
            from configurator.wsgi import application as production

            application = production
        self.application = application

    def post(
        self,
        path: str,
        data: bytes = b"",
        content_type: str = "application/octet-stream",
        **extra: str,
    ) -> WSGIResponse:
        environ = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(data)), **extra}
        return self.request("POST", path, data, environ)

    def get(self, path: str, **extra: str) -> WSGIResponse:
        return self.request("GET", path, b"", extra)

    def request(self, method: str, path: str, body: bytes, extra: dict[str, Any]) -> WSGIResponse:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **extra,
        }
        answered: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> None:
            answered[:] = [status, headers]

        # As Django's test client does: a request must not close the test's connection, which
        # is inside the test's transaction.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            result = self.application(environ, start_response)
            try:
                content = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return WSGIResponse(answered[0], answered[1], content)
