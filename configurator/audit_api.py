"""`GET /api/v1/audit/`: the audit trail, read-only, newest first, paged by cursor."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from configurator.audit_selectors import (
    actor_filter,
    audit_entries_visible,
    object_type_choices,
    object_type_of,
)
from configurator.choices import AuditOperation, AuditVia
from configurator.models import AuditEntry
from configurator.pagination import cursor_pagination
from configurator.parsers import UtcDateTimeFilter


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    """One entry: who, when, through what, what they did to which object, and the diff."""

    action = serializers.CharField(source="operation", help_text=_("An AuditOperation word."))
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    actor_username = serializers.SerializerMethodField()
    object_type = serializers.SerializerMethodField()
    object_id = serializers.CharField(source="object_pk")
    changes = serializers.SerializerMethodField()
    detail = serializers.JSONField(source="additional_data", allow_null=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "timestamp",
            "actor",
            "actor_username",
            "via",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "detail",
            "remote_addr",
        ]

    def get_actor_username(self, obj: AuditEntry) -> str | None:
        return obj.actor_username or None

    def get_object_type(self, obj: AuditEntry) -> str:
        return f"{obj.content_type.app_label}.{obj.content_type.model}"

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_changes(self, obj: AuditEntry) -> dict[str, Any]:
        """Field → [old, new] (a secret as "(secret)"), or a many-to-many field's additions."""
        return obj.changes if isinstance(obj.changes, dict) else {}


class AuditEntryFilter(django_filters.FilterSet):
    """The filters of `GET /api/v1/audit/`, each served by an index of the table."""

    object_type = django_filters.ChoiceFilter(
        choices=object_type_choices, method="object_type_filter", label=_("object type")
    )
    object_id = django_filters.CharFilter(field_name="object_pk", max_length=255)
    actor = django_filters.CharFilter(
        method="actor_filter", max_length=150, label=_("user ID or username")
    )
    action = django_filters.ChoiceFilter(field_name="operation", choices=AuditOperation.choices)
    via = django_filters.ChoiceFilter(choices=AuditVia.choices)
    since = UtcDateTimeFilter(field_name="timestamp", lookup_expr="gte")

    class Meta:
        model = AuditEntry
        fields = ["object_type", "object_id", "actor", "action", "via", "since"]

    def object_type_filter(
        self, queryset: QuerySet[AuditEntry], name: str, value: str
    ) -> QuerySet[AuditEntry]:
        content_type = object_type_of(value)
        return queryset.filter(content_type=content_type) if content_type else queryset.none()

    def actor_filter(
        self, queryset: QuerySet[AuditEntry], name: str, value: str
    ) -> QuerySet[AuditEntry]:
        return queryset.filter(actor_filter(value))


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet[AuditEntry]):
    """The audit trail (needs configurator.view_auditentry), newest first, paged by cursor."""

    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilter
    # audit_timestamp, audit_object_key, audit_actor and audit_operation serve every filter.
    pagination_class = cursor_pagination("-timestamp", "-id")

    def get_queryset(self) -> QuerySet[AuditEntry]:
        if getattr(self, "swagger_fake_view", False):  # the schema's generation: no user
            nothing: QuerySet[AuditEntry] = AuditEntry.objects.none()
            return nothing
        return audit_entries_visible(self.request.user)
