"""Warnings at save time: what was saved, but will not work as the administrator may think.

A save that passes every rule can still set up something that fails later: an integration
endpoint on an address integrations may not call, a fourth integration on one event, queues
whose overflow goes round in a circle, queues addressed to an app no messaging service holds
any more. Each app words its own warnings (its selectors); the admin shows them with
`messages.warning` after the save, and the API adds them to the answer of a create or an update
as `warnings`, a list of sentences (empty when there is nothing to say). A GET never carries
them: some cost a DNS lookup or a walk over other rows.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

WARNINGS_FIELD = "warnings"
WARNINGS_HELP = (
    "Only in the answer to a create or an update: what was saved but deserves a second look "
    "(sentences; empty when there is nothing to say)."
)


def warn(request: HttpRequest, warnings: list[str]) -> None:
    """Show each warning on the admin's next page."""
    for text in warnings:
        messages.warning(request, text)


class SaveWarningsViewSetMixin:
    """A ModelViewSet whose create and update answers carry `warnings`.

    Subclasses word them in `save_warnings(instance, before)`; `before` is what
    `warnings_before(instance)` noted of the stored row just before an update (None on create),
    for warnings about what a change removed.
    """

    _save_warnings: list[str]

    def warnings_before(self, instance: Any) -> Any:
        return None

    def save_warnings(self, instance: Any, before: Any) -> list[str]:
        return []

    def perform_create(self, serializer: Any) -> None:
        serializer.save()
        self._save_warnings = self.save_warnings(serializer.instance, None)

    def perform_update(self, serializer: Any) -> None:
        before = self.warnings_before(serializer.instance)
        serializer.save()
        self._save_warnings = self.save_warnings(serializer.instance, before)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response: Response = super().create(request, *args, **kwargs)  # type: ignore[misc]
        return self._with_warnings(response)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response: Response = super().update(request, *args, **kwargs)  # type: ignore[misc]
        return self._with_warnings(response)

    def _with_warnings(self, response: Response) -> Response:
        if isinstance(response.data, dict) and response.status_code < 300:
            response.data[WARNINGS_FIELD] = list(getattr(self, "_save_warnings", []))
        return response


def saved_answer(serializer_class: type[serializers.ModelSerializer[Any]]) -> type[Any]:
    """The serializer of a create or update answer, for the schema: the fields and `warnings`."""
    name = serializer_class.__name__.removesuffix("Serializer") + "SavedSerializer"
    meta = type(
        "Meta",
        (serializer_class.Meta,),
        {"fields": [*serializer_class.Meta.fields, WARNINGS_FIELD]},
    )
    warnings = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text=WARNINGS_HELP
    )
    return type(name, (serializer_class,), {"Meta": meta, WARNINGS_FIELD: warnings})


def with_save_warnings_schema(serializer_class: type[serializers.ModelSerializer[Any]]) -> Any:
    """A class decorator: the viewset's create and update answers documented with `warnings`."""
    answer = saved_answer(serializer_class)
    return extend_schema_view(
        create=extend_schema(responses={201: answer}),
        update=extend_schema(responses=answer),
        partial_update=extend_schema(responses=answer),
    )
