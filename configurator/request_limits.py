"""A request beyond Django's bounds answered in the words of its client, not Django's 400 page.

Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (`RequestDataTooBig`) or with more fields
than DATA_UPLOAD_MAX_NUMBER_FIELDS (`TooManyFieldsSent`) when it is first read, and the error
page it answers with says nothing. Here:

- the admin (`RequestLimitsMiddleware`): the form's own page again (a redirect to it) with an
  error saying the limit and what to do; nothing was saved, and nothing of the refused body is
  kept. The body is read before the CSRF check, which needs it: a refused body can do nothing
  but show that page.
- the REST API (`api_exception_handler`, DRF's EXCEPTION_HANDLER): 413 with `{"detail": ...}`.

Either way the rest of the body is read and dropped (up to DRAIN_MAX_BYTES) before answering:
a server that closes a connection with unread data resets it, and the browser would show its
own error instead of the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from configurator import names
from configurator.limits import request_too_large_message, too_many_fields_message

logger = logging.getLogger(__name__)

# A body larger than this is not read to its end: the connection may be reset, and a client
# sending that much to an admin form is not a person.
DRAIN_MAX_BYTES = 32 * 1024 * 1024
_CHUNK = 64 * 1024
BEYOND_LIMITS = (RequestDataTooBig, TooManyFieldsSent)


def limit_message(exc: Exception, *, admin: bool) -> str:
    """The sentence for a request refused by one of Django's bounds."""
    if isinstance(exc, TooManyFieldsSent):
        return too_many_fields_message(admin=admin)
    return request_too_large_message(admin=admin)


def drain(request: HttpRequest) -> None:
    """Read what is left of the body and drop it, so that the answer reaches the client."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if length > DRAIN_MAX_BYTES:
        return
    try:
        while request.read(_CHUNK):
            pass
    except OSError:  # the client went away meanwhile
        return


def _log(request: HttpRequest, exc: Exception) -> None:
    logger.warning(
        "%s %s refused: %s (Content-Length %s)",
        request.method,
        request.path,
        exc,
        request.META.get("CONTENT_LENGTH") or "none",
    )


class RequestLimitsMiddleware:
    """An admin form over the upload bounds gets its page again, with the reason.

    Placed before CsrfViewMiddleware, whose check reads the body first; the session and
    messages are set up by then (every middleware's request phase runs before any view hook).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        if request.method != "POST" or not _is_admin(request):
            return None
        try:
            request.POST  # noqa: B018 (parsing is what may fail)
        except BEYOND_LIMITS as exc:
            _log(request, exc)
            drain(request)
            messages.error(request, limit_message(exc, admin=True))
            # The page the form was on, asked for again: a GET changes nothing.
            return HttpResponseRedirect(_form_page(request), status=303)
        return None


def _form_page(request: HttpRequest) -> str:
    """Where the refused form was: the page that posted it (a form may post to a URL of its
    own, such as a contact's reply, that answers no GET), else the URL it posted to."""
    referer = str(request.META.get("HTTP_REFERER", ""))
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return request.get_full_path()


def _is_admin(request: HttpRequest) -> bool:
    try:
        prefix = reverse("admin:index")
    except NoReverseMatch:
        return False
    return request.path_info.startswith(prefix)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with a body over Django's bounds answered 413 and its reason."""
    if isinstance(exc, BEYOND_LIMITS):
        request = context.get("request")
        django_request = getattr(request, "_request", None)
        if isinstance(django_request, HttpRequest):
            _log(django_request, exc)
            drain(django_request)
        return Response(
            {"detail": limit_message(exc, admin=False)},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, IntegrityError) and names.CONSTRAINT_SUFFIX in str(exc):
        # Two saves of one name in different cases at the same moment: both passed the check,
        # the database's index refused the second. Answered as the check would have.
        set_rollback()
        return Response(
            {names.NAME_FIELD: [names.NAME_TAKEN_MEANWHILE]}, status=status.HTTP_400_BAD_REQUEST
        )
    return exception_handler(exc, context)
