"""REST endpoints of event-driven integrations: thin, they parse, call a service and present."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from configurator.api import drf_errors
from configurator.pagination import cursor_pagination
from configurator.permissions import ChangeOnPostPermissions
from configurator.save_warnings import SaveWarningsViewSetMixin, with_save_warnings_schema
from conversations.api.serializers import EmptySerializer
from conversations.choices import Event
from conversations.permissions import can_view_personal_data
from integrations import dispatch, selectors, services
from integrations.api.filters import DeliveryFilter, IntegrationFilter
from integrations.api.serializers import (
    DeliverySerializer,
    IntegrationSerializer,
    IntegrationVersionDetailSerializer,
    IntegrationVersionSerializer,
    PresetSerializer,
    ResendSerializer,
    TestRunRequestSerializer,
    TestRunSerializer,
    VersionRestoreSerializer,
)
from integrations.choices import DeliveryMode, DeliveryStatus
from integrations.models import Integration, IntegrationVersion
from integrations.presets import PRESETS
from integrations.testrun import integration_test_run, sample_kind, test_run_contact_check

# What a delivery shows of its contact: which one, and the request and answer made from its data.
# Set ("true") on a resend's answer when the selection was bigger than one batch: the answer
# lists the first batch's new attempts, and a background task sends the rest again.
RESEND_MORE_HEADER = "Resend-Continues"
# A version number in a path: digits, at most nine (a version's number is a 32-bit integer).
VERSION_NUMBER = r"(?P<number>[0-9]{1,9})"
VERSION_NUMBER_PARAMETER = OpenApiParameter(
    "number", int, OpenApiParameter.PATH, description="The version's number (1, 2, …)."
)
CONTACT_DATA_FIELDS = ("contact", "contact_event", "request", "response_excerpt", "applied")


@with_save_warnings_schema(IntegrationSerializer)
class IntegrationViewSet(SaveWarningsViewSetMixin, viewsets.ModelViewSet[Integration]):
    """Event-driven integrations (System Management > Event-Driven Integrations)."""

    serializer_class = IntegrationSerializer
    filterset_class = IntegrationFilter

    def get_queryset(self) -> QuerySet[Integration]:
        return selectors.integration_list()

    def save_warnings(self, instance: Integration, before: Any) -> list[str]:
        return selectors.save_warnings(instance)

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
        """Stop it firing (`enabled` false); its events are kept."""
        integration = self.get_object()
        services.integration_disable(integration=integration)
        return self._present(integration)

    @extend_schema(request=EmptySerializer, responses={200: IntegrationSerializer, 409: None})
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPostPermissions])
    def enable(self, request: Request, pk: str | None = None) -> Response:
        """Let it fire again (`enabled` true), and lift a pause too, as it always did.

        409 while it has problems (e.g. a copy's missing authentications) or no events.
        """
        integration = self.get_object()
        try:
            services.integration_enable(integration=integration)
        except DjangoValidationError as exc:
            return Response(
                {"detail": " ".join(exc.messages), "problems": exc.messages},
                status=status.HTTP_409_CONFLICT,
            )
        return self._present(integration)

    @extend_schema(request=EmptySerializer, responses=IntegrationSerializer)
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPostPermissions])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Lift a pause after failures in a row; `enabled` stays as it is."""
        integration = self.get_object()
        services.integration_resume(integration=integration)
        return self._present(integration)

    @extend_schema(responses=PresetSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def presets(self, request: Request) -> Response:
        """ "Start from" configurations for the four documented uses."""
        return Response(PresetSerializer([p.as_json() for p in PRESETS], many=True).data)

    @extend_schema(
        description=(
            "Without the permission to view customers' personal data, the fields that carry "
            "a contact's data "
            f"({', '.join(CONTACT_DATA_FIELDS)}) are null and ?contact= answers 403."
        ),
        responses=DeliverySerializer(many=True),
        parameters=[
            OpenApiParameter("status", str, enum=DeliveryStatus.values),
            OpenApiParameter("event", str, enum=Event.values),
            OpenApiParameter("mode", str, enum=DeliveryMode.values),
            OpenApiParameter("contact", str, description="Contact ID"),
        ],
    )
    @action(
        detail=True,
        methods=["get"],
        filterset_class=None,
        # integrations_dlv_intg and the (integration, filter, created_at) indexes serve it.
        pagination_class=cursor_pagination("-created_at", "-id"),
    )
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """Its delivery log, newest first; filter by status, event, mode or contact."""
        integration = self.get_object()
        if request.query_params.get("contact") and not can_view_personal_data(request.user):
            raise PermissionDenied(
                _("Filtering by contact needs the permission to view customers' personal data.")
            )
        shown = DeliveryFilter(
            request.query_params,
            queryset=selectors.delivery_list().filter(integration=integration),
            request=request,
        )
        if not shown.is_valid():
            raise ValidationError(shown.errors)
        page = self.paginate_queryset(cast(Any, shown.qs))
        return self.get_paginated_response(
            _deliveries_shown(request, DeliverySerializer(page, many=True).data)
        )

    @extend_schema(
        request=ResendSerializer,
        responses=DeliverySerializer(many=True),
        parameters=[
            OpenApiParameter(
                RESEND_MORE_HEADER,
                str,
                OpenApiParameter.HEADER,
                response=True,
                description=(
                    "`true` when more than one batch was selected: the answer lists the first "
                    "batch's new attempts, and the rest are sent again in the background."
                ),
            )
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[ChangeOnPostPermissions],
        # The attempts its first batch made: a bare list, and the schema says so.
        pagination_class=None,
    )
    def resend(self, request: Request, pk: str | None = None) -> Response:
        """Send failed background deliveries again: the given IDs, or all failed since a time."""
        integration = self.get_object()
        given = ResendSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        selection = integration.deliveries.all()
        if "deliveries" in given.validated_data:
            selection = selection.filter(pk__in=given.validated_data["deliveries"])
        if "since" in given.validated_data:
            selection = selection.filter(created_at__gte=given.validated_data["since"])
        resent = dispatch.deliveries_resend(selection=selection)
        shown = _deliveries_shown(request, DeliverySerializer(resent.scheduled, many=True).data)
        # The first batch's attempts; the header tells that a task sends the rest again.
        return Response(shown, headers={RESEND_MORE_HEADER: "true"} if resent.more else None)

    @extend_schema(request=TestRunRequestSerializer, responses=TestRunSerializer)
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPostPermissions])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Run it for an event and a contact (or a sample): dry renders, live also sends.

        Each step is shown; no contact changes and no delivery is recorded. A real contact
        needs the permission to view customers' personal data (403); the sample contact does not.
        """
        integration = self.get_object()
        if isinstance(request.data, Mapping) and request.data.get("contact"):
            # Before the contact is looked up: whether an ID exists is not told either.
            test_run_contact_check(user=request.user)
        given = TestRunRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        contact = given.validated_data.get("contact")
        try:
            sample = (
                None
                if contact is not None
                else sample_kind(
                    integration,
                    channel_type=given.validated_data.get("channel_type", ""),
                    direction=given.validated_data.get("direction", ""),
                )
            )
        except DjangoValidationError as exc:
            raise ValidationError(drf_errors(exc)) from None
        run = integration_test_run(
            integration=integration,
            event=given.validated_data["event"],
            contact=contact,
            live=given.validated_data["live"],
            user=request.user,
            sample=sample,
        )
        return Response(TestRunSerializer(run.as_json()).data)

    @extend_schema(responses=IntegrationVersionSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        filterset_class=None,
        # The (integration, number) unique index serves it.
        pagination_class=cursor_pagination("-number"),
    )
    def versions(self, request: Request, pk: str | None = None) -> Response:
        """Its versions, newest first: when, who, through what, and what each changed."""
        integration = self.get_object()
        page = self.paginate_queryset(cast(Any, selectors.integration_versions(integration)))
        return self.get_paginated_response(IntegrationVersionSerializer(page, many=True).data)

    @extend_schema(
        responses={200: IntegrationVersionDetailSerializer, 404: None},
        parameters=[
            VERSION_NUMBER_PARAMETER,
            OpenApiParameter(
                "compare",
                int,
                description="The version to compare it with (`diff`); by default the one "
                "before it. Version 1 without `compare` has no diff (null).",
            ),
        ],
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=f"versions/{VERSION_NUMBER}",
        url_name="version",
        filterset_class=None,
        pagination_class=None,
    )
    def version(self, request: Request, pk: str | None = None, number: str = "") -> Response:
        """One version with everything it holds (never a secret) and its diff with another."""
        integration = self.get_object()
        wanted = int(number)
        given = request.query_params.get("compare")
        if given is not None and not (given.isdigit() and len(given) <= 9):
            raise ValidationError({"compare": [_("Give a version number, e.g. 1.")]})
        compare = int(given) if given is not None else wanted - 1
        found = selectors.integration_versions_by_number(integration, {wanted, compare})
        version = _version_or_404(found, wanted)
        if given is not None and compare not in found:
            raise ValidationError(
                {"compare": [_("This integration has no version %(n)d.") % {"n": compare}]}
            )
        context = {**self.get_serializer_context(), "compare_with": found.get(compare)}
        return Response(IntegrationVersionDetailSerializer(version, context=context).data)

    @extend_schema(
        request=EmptySerializer,
        responses={200: VersionRestoreSerializer, 404: None},
        parameters=[VERSION_NUMBER_PARAMETER],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=f"versions/{VERSION_NUMBER}/restore",
        url_name="version-restore",
        permission_classes=[ChangeOnPostPermissions],
        filterset_class=None,
    )
    def restore(self, request: Request, pk: str | None = None, number: str = "") -> Response:
        """Make the integration what version `number` was, through the checks of a save.

        400 by field when the version no longer passes them (a queue deleted since, say), and
        nothing changes. Authentication entries and their secrets are left as they are.
        """
        integration = self.get_object()
        wanted = int(number)
        _version_or_404(selectors.integration_versions_by_number(integration, {wanted}), wanted)
        try:
            saved = services.integration_version_restore(integration=integration, number=wanted)
        except DjangoValidationError as exc:
            raise ValidationError(drf_errors(exc)) from None
        fresh = selectors.integration_list().get(pk=integration.pk)
        return Response(
            VersionRestoreSerializer(
                {"restored": wanted, "version": saved.version, "integration": fresh},
                context=self.get_serializer_context(),
            ).data
        )


def _version_or_404(found: dict[int, IntegrationVersion], number: int) -> IntegrationVersion:
    if number not in found:
        raise NotFound(_("This integration has no version %(n)d.") % {"n": number})
    return found[number]


def _deliveries_shown(request: Request, rows: Any) -> Any:
    """Serialized deliveries, with the contact's data left out for users who may not see it."""
    if can_view_personal_data(request.user):
        return rows
    for row in rows:
        row.update(dict.fromkeys(CONTACT_DATA_FIELDS))
    return rows
