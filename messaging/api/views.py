"""REST endpoints of the messaging app: thin, they parse, call a service and present."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from configurator.api import drf_errors
from configurator.pagination import cursor_pagination
from configurator.parsers import UtcDateTimeFilter
from configurator.permissions import ChangeOnPostPermissions
from configurator.save_warnings import SaveWarningsViewSetMixin, with_save_warnings_schema
from conversations.permissions import personal_filters_check
from messaging import doctor, selectors, services, simulator
from messaging.api.serializers import (
    CallbackSerializer,
    DoctorRequestSerializer,
    DoctorRunSerializer,
    MessagingServiceSerializer,
    SimulatedSerializer,
    SimulateSerializer,
    WebhookSecretRotateSerializer,
)
from messaging.choices import CallbackStatus, Trigger
from messaging.models import Callback, MessagingService


@with_save_warnings_schema(MessagingServiceSerializer)
class MessagingServiceViewSet(SaveWarningsViewSetMixin, viewsets.ModelViewSet[MessagingService]):
    """Messaging services (System Management > Messaging Services)."""

    serializer_class = MessagingServiceSerializer
    filterset_fields = ["type", "region", "name"]

    def get_queryset(self) -> QuerySet[MessagingService]:
        return selectors.messaging_service_list()

    def warnings_before(self, instance: MessagingService) -> set[str]:
        return selectors.service_app_ids(instance.pk)

    def save_warnings(self, instance: MessagingService, before: set[str] | None) -> list[str]:
        removed = (before or set()) - selectors.service_app_ids(instance.pk)
        return selectors.stranded_queue_warnings(removed)

    @extend_schema(request=WebhookSecretRotateSerializer, responses=MessagingServiceSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="rotate-webhook-secret",
        permission_classes=[ChangeOnPostPermissions],
    )
    def rotate_webhook_secret(self, request: Request, pk: str | None = None) -> Response:
        """Replace the webhook secret; the current one verifies `overlap_hours` longer (0-168)."""
        service = self.get_object()
        given = WebhookSecretRotateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            services.webhook_secret_rotate(
                service=service,
                secret=given.validated_data["secret"],
                overlap_hours=given.validated_data["overlap_hours"],
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(drf_errors(exc)) from None
        shown = self.get_queryset().get(pk=service.pk)
        return Response(self.get_serializer(shown).data)

    @extend_schema(request=DoctorRequestSerializer, responses=DoctorRunSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="doctor",
        permission_classes=[ChangeOnPostPermissions],
    )
    def doctor(self, request: Request, pk: str | None = None) -> Response:
        """Check the service against Sinch; with `fix`, create or update the apps' webhooks.

        Answers the stored run (checks with ok/problem/error, what was fixed), also when Sinch
        refused or could not be reached: those are `error` checks, not an error answer.
        """
        service = self.get_object()
        given = DoctorRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        run = doctor.doctor_run(
            service=service,
            fix=given.validated_data["fix"],
            ran_by=request.user.get_username(),
            request=request,
        )
        return Response(DoctorRunSerializer(run).data)

    @extend_schema(request=SimulateSerializer, responses={202: SimulatedSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPostPermissions])
    def simulate(self, request: Request, pk: str | None = None) -> Response:
        """Send a simulated customer message through the webhook's path; 202 with its callback."""
        service = self.get_object()
        given = SimulateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            sent = simulator.message_simulate(service=service, **given.validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(drf_errors(exc)) from None
        return Response(SimulatedSerializer(sent).data, status=status.HTTP_202_ACCEPTED)


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
            "simulated",
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
        personal_filters_check(
            user=self.request.user, query=self.request.query_params, names=["contact_id"]
        )
        return selectors.callback_list()
