"""API permissions shared by every app (kept free of view imports: DRF loads it from settings)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from rest_framework import permissions

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class StaffModelPermissions(permissions.DjangoModelPermissions):
    """Staff users with the model's permissions; reading needs the `view` permission."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: APIView) -> bool:
        user: Any = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        return super().has_permission(request, view)


class ChangeOnPostPermissions(StaffModelPermissions):
    """For actions that change an existing object by POST (lifecycle actions, disable, enable)."""

    perms_map = {
        **StaffModelPermissions.perms_map,
        "POST": ["%(app_label)s.change_%(model_name)s"],
    }


class ApiDocsPermission(permissions.BasePermission):
    """The OpenAPI schema and its UI: a logged-in user, or anyone when API_DOCS_PUBLIC."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if settings.API_DOCS_PUBLIC:
            return True
        return bool(request.user and request.user.is_authenticated)
