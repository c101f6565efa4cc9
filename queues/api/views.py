"""REST endpoints of the queues app: thin, they parse, call a service and present."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets

from queues import selectors
from queues.api.serializers import QueueSerializer
from queues.models import Queue


class QueueViewSet(viewsets.ModelViewSet[Queue]):
    """Queues (Queue Management > Queues)."""

    serializer_class = QueueSerializer
    filterset_fields = ["channel_type", "name", "overflow_queue"]

    def get_queryset(self) -> QuerySet[Queue]:
        return selectors.queue_list()
