"""REST endpoints of the messaging app: thin, they parse, call a service and present."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from rest_framework import mixins, viewsets

from configurator.pagination import cursor_pagination
from configurator.parsers import UtcDateTimeFilter
from messaging import selectors
from messaging.api.serializers import CallbackSerializer, MessagingServiceSerializer
from messaging.choices import CallbackStatus, Trigger
from messaging.models import Callback, MessagingService


class MessagingServiceViewSet(viewsets.ModelViewSet[MessagingService]):
    """Messaging services (System Management > Messaging Services)."""

    serializer_class = MessagingServiceSerializer
    filterset_fields = ["type", "region", "name"]

    def get_queryset(self) -> QuerySet[MessagingService]:
        return selectors.messaging_service_list()


class CallbackFilter(django_filters.FilterSet):
    """Filters of the callback log, named after the fields."""

    trigger = django_filters.ChoiceFilter(choices=Trigger.choices)
    status = django_filters.ChoiceFilter(choices=CallbackStatus.choices)
    received_after = UtcDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UtcDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = Callback
        fields = [
            "service",
            "trigger",
            "status",
            "app_id",
            "message_id",
            "contact_id",
            "conversation_id",
        ]


class CallbackViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Callback]
):
    """Callbacks received from Sinch, newest first (read-only log), paged by cursor."""

    serializer_class = CallbackSerializer
    filterset_class = CallbackFilter
    # messaging_cb_received and the (filter, received_at) indexes serve every filter's page.
    pagination_class = cursor_pagination("-received_at", "-id")

    def get_queryset(self) -> QuerySet[Callback]:
        return selectors.callback_list()
