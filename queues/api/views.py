"""REST endpoints of the queues app: thin, they parse, call a service and present."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from configurator.save_warnings import SaveWarningsViewSetMixin, with_save_warnings_schema
from queues import selectors, services
from queues.api.serializers import QueueSerializer
from queues.models import Queue


@with_save_warnings_schema(QueueSerializer)
class QueueViewSet(SaveWarningsViewSetMixin, viewsets.ModelViewSet[Queue]):
    """Queues (Queue Management > Queues)."""

    serializer_class = QueueSerializer
    filterset_fields = ["channel_type", "name", "overflow_queue"]

    def get_queryset(self) -> QuerySet[Queue]:
        return selectors.queue_list()

    def save_warnings(self, instance: Queue, before: Any) -> list[str]:
        return selectors.save_warnings(instance)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete a queue; 409 with the reasons while conversations or queues depend on it."""
        try:
            services.queue_delete(queue=self.get_object())
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)
