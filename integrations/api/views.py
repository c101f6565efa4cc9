"""REST endpoints of event-driven integrations: thin, they parse, call a service and present."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from configurator.permissions import ChangeOnPostPermissions
from conversations.api.serializers import EmptySerializer
from integrations import selectors, services
from integrations.api.serializers import IntegrationSerializer, PresetSerializer
from integrations.models import Integration
from integrations.presets import PRESETS


class IntegrationViewSet(viewsets.ModelViewSet[Integration]):
    """Event-driven integrations (System Management > Event-Driven Integrations)."""

    serializer_class = IntegrationSerializer
    filterset_fields = ["channel_type", "direction", "queues", "direct_chats", "direct_calls"]

    def get_queryset(self) -> QuerySet[Integration]:
        return selectors.integration_list()

    def _present(self, integration: Integration, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.integration_list().get(pk=integration.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=EmptySerializer, responses={201: IntegrationSerializer})
    @action(detail=True, methods=["post"])
    def copy(self, request: Request, pk: str | None = None) -> Response:
        """A copy with everything but the authentications, disabled until they are added."""
        copy = services.integration_copy(integration=self.get_object())
        return self._present(copy, status.HTTP_201_CREATED)

    @extend_schema(request=EmptySerializer, responses=IntegrationSerializer)
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPostPermissions])
    def disable(self, request: Request, pk: str | None = None) -> Response:
        """Deselect all events, remembering them for Enable."""
        integration = self.get_object()
        services.integration_disable(integration=integration)
        return self._present(integration)

    @extend_schema(request=EmptySerializer, responses={200: IntegrationSerializer, 409: None})
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPostPermissions])
    def enable(self, request: Request, pk: str | None = None) -> Response:
        """Restore the events it had; 409 while it has problems (e.g. missing authentications)."""
        integration = self.get_object()
        try:
            services.integration_enable(integration=integration)
        except DjangoValidationError as exc:
            return Response(
                {"detail": " ".join(exc.messages), "problems": exc.messages},
                status=status.HTTP_409_CONFLICT,
            )
        return self._present(integration)

    @extend_schema(responses=PresetSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None, filterset_fields=[])
    def presets(self, request: Request) -> Response:
        """ "Start from" configurations for the four documented uses."""
        return Response(PresetSerializer([p.as_json() for p in PRESETS], many=True).data)
