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


CONTACT_DATA_PERMISSION = "conversations.view_contact"


def can_view_contact_data(user: Any) -> bool:
    """Whether `user` may see a contact's data wherever it appears (test runs, deliveries).

    Contacts carry end users' personal data (phone numbers, names, what they wrote, attached
    data); an integration developer without the permission to view contacts must not read
    them through the integrations' pages either.
    """
    return bool(user and user.is_active and user.has_perm(CONTACT_DATA_PERMISSION))


class ApiDocsPermission(permissions.BasePermission):
    """The OpenAPI schema and its UI: a logged-in user, or anyone when API_DOCS_PUBLIC."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if settings.API_DOCS_PUBLIC:
            return True
        return bool(request.user and request.user.is_authenticated)
