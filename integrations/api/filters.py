"""Query-string filters of the integrations API: a value no row can have is a 400 naming it."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from configurator.parsers import KeysFilter
from conversations.choices import Event
from integrations.choices import DeliveryMode, DeliveryStatus
from integrations.models import Delivery, Integration
from queues.models import Queue


class IntegrationFilter(django_filters.FilterSet):
    """Filters of the integration list, named after the fields."""

    queues = KeysFilter(queryset=Queue.objects.all())

    class Meta:
        model = Integration
        fields = ["channel_type", "direction", "queues", "direct_chats", "direct_calls", "enabled"]


class DeliveryFilter(django_filters.FilterSet):
    """Filters of an integration's delivery log: `?status=&event=&mode=&contact=&simulated=`."""

    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event = django_filters.ChoiceFilter(choices=Event.choices)
    mode = django_filters.ChoiceFilter(choices=DeliveryMode.choices)
    contact = django_filters.CharFilter(method="filter_contact")

    class Meta:
        model = Delivery
        fields = ["status", "event", "mode", "contact", "simulated"]

    def filter_contact(
        self, queryset: QuerySet[Delivery], name: str, value: str
    ) -> QuerySet[Delivery]:
        """Contact IDs are upper case; one typed in lower case finds the same contact."""
        return queryset.filter(contact_id=value.strip().upper())
