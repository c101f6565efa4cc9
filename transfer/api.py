"""`GET /api/v1/config/export/` and `POST /api/v1/config/import/`: parse, call, present."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from configurator.limits import size_text
from configurator.request_limits import drain
from transfer.document import (
    DocumentSerializer,
    ExportRefused,
    SecretsSerializer,
    config_export,
)
from transfer.plan import mapping_of, mapping_problems
from transfer.services import DocumentRefused, config_import

EXPORT_PERMISSION = "configurator.export_configuration"
IMPORT_PERMISSION = "configurator.import_configuration"


class TransferPermission(permissions.BasePermission):
    """A staff user with the view's permission (export or import the configuration)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user: Any = request.user
        needed = getattr(view, "required_permission", None)
        return bool(
            user and user.is_authenticated and user.is_staff and needed and user.has_perm(needed)
        )


class ImportRequestSerializer(serializers.Serializer[Any]):
    """The document and how it lands in this landscape (a bare document is taken too)."""

    document = serializers.JSONField(help_text="A document as GET /api/v1/config/export/ gives it.")
    map_connection = serializers.DictField(
        child=serializers.CharField(max_length=100),
        required=False,
        default=dict,
        help_text='Region/project, old → new: {"eu/old-project": "us/new-project"}.',
    )
    map_app = serializers.DictField(
        child=serializers.CharField(max_length=64),
        required=False,
        default=dict,
        help_text='App IDs, old → new, for service entries and queue addresses: {"OLD": "NEW"}.',
    )
    secrets = SecretsSerializer(
        required=False,
        write_only=True,
        help_text="Never written by the export: entries without one are imported disabled.",
    )
    prune = serializers.BooleanField(
        required=False, default=False, help_text="Delete stored objects the document lacks."
    )


class PlannedSerializer(serializers.Serializer[Any]):
    """One object of the plan."""

    kind = serializers.CharField()
    name = serializers.CharField()
    action = serializers.ChoiceField(choices=["create", "update", "unchanged", "delete"])
    changes = serializers.DictField(
        child=serializers.DictField(), help_text='{field: {"from": …, "to": …}}'
    )
    secrets_missing = serializers.ListField(child=serializers.CharField(), required=False)


class ImportErrorSerializer(serializers.Serializer[Any]):
    """A fault that refused the import: its object, its field, what is wrong."""

    object = serializers.CharField()
    field = serializers.CharField()
    messages = serializers.ListField(child=serializers.CharField())


class NotDeletedSerializer(serializers.Serializer[Any]):
    """An object `prune` kept, and why."""

    object = serializers.CharField()
    reason = serializers.CharField()


class ImportResultSerializer(serializers.Serializer[Any]):
    """The plan and its outcome (errors: nothing was written)."""

    dry_run = serializers.BooleanField()
    applied = serializers.BooleanField()
    summary = serializers.DictField(child=serializers.IntegerField())
    objects = PlannedSerializer(many=True)
    secrets_missing = serializers.ListField(child=serializers.CharField())
    secrets_unused = serializers.ListField(
        child=serializers.CharField(),
        help_text="Secrets given for objects or entries the document does not hold (not used).",
    )
    not_deleted = NotDeletedSerializer(many=True)
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="The save-time warnings of the admin and the API, over the imported result.",
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # `errors` is a Serializer's own attribute: the field of that name is added here.
        fields = super().get_fields()
        fields["errors"] = ImportErrorSerializer(many=True)
        return fields


def _body_read(request: HttpRequest, *, limit: int) -> Response | None:
    """Read the body under the import's own bound; a 413 answer when it is larger.

    Django's `HttpRequest.body` holds every request to DATA_UPLOAD_MAX_MEMORY_SIZE; a body
    read here first is kept where `body` (and so DRF's parser) finds it, so only this bound
    applies to this view.
    """
    answer = Response(
        {
            "detail": _(
                "The request body is larger than the %(limit)s the import takes "
                "(CONFIG_IMPORT_MAX_BYTES): import the document with manage.py config_import."
            )
            % {"limit": size_text(limit)}
        },
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        drain(request)
        return answer
    body = request.read(limit + 1)
    if len(body) > limit:
        drain(request)
        return answer
    request._body = body  # what HttpRequest.body returns once read
    return None


class ConfigExportView(APIView):
    """The whole configuration as one document, without secrets."""

    permission_classes = [TransferPermission]
    required_permission = EXPORT_PERMISSION

    @extend_schema(
        operation_id="config_export",
        responses={
            200: DocumentSerializer,
            409: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="An integration names a queue or agent by a database ID that has "
                "no portable name: `errors` says which.",
            ),
        },
    )
    def get(self, request: Request) -> Response:
        try:
            return Response(config_export())
        except ExportRefused as exc:
            return Response(
                {"detail": " ".join(exc.messages), "errors": exc.messages},
                status=status.HTTP_409_CONFLICT,
            )


class ConfigImportView(APIView):
    """Plan and apply a configuration document (`?dry_run=1`: plan and check only)."""

    permission_classes = [TransferPermission]
    required_permission = IMPORT_PERMISSION

    @extend_schema(
        operation_id="config_import",
        request=ImportRequestSerializer,
        parameters=[
            OpenApiParameter(
                "dry_run",
                OpenApiTypes.BOOL,
                description="1: show the plan and every error; write nothing.",
            )
        ],
        responses={
            200: ImportResultSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="A malformed request or document ({field: [messages]}), or an "
                "import refused: the plan with `errors` naming object and field.",
            ),
            413: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The body is larger than CONFIG_IMPORT_MAX_BYTES (32 MiB unless "
                "set): use manage.py config_import.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        too_large = _body_read(request._request, limit=settings.CONFIG_IMPORT_MAX_BYTES)
        if too_large:
            return too_large
        data = request.data
        if isinstance(data, dict) and "format" in data and "document" not in data:
            data = {"document": data}
        given = ImportRequestSerializer(data=data)
        given.is_valid(raise_exception=True)
        options = given.validated_data
        problems = mapping_problems(options["map_connection"], options["map_app"])
        if problems:
            raise serializers.ValidationError(problems)
        dry_run = str(request.query_params.get("dry_run", "")).lower() in {"1", "true", "yes"}
        try:
            result = config_import(
                document=options["document"],
                mapping=mapping_of(options["map_connection"], options["map_app"]),
                secrets=options.get("secrets") or {},
                prune=options["prune"],
                dry_run=dry_run,
            )
        except DocumentRefused as exc:
            raise serializers.ValidationError({"document": exc.errors}) from None
        answer = ImportResultSerializer(result.as_json()).data
        return Response(answer, status=status.HTTP_400_BAD_REQUEST if result.errors else 200)
