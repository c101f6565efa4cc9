"""The v1 API router that every app registers its endpoints on, and the one way a service's
ValidationError becomes the API's error answer."""

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.routers import DefaultRouter
from rest_framework.settings import api_settings

router = DefaultRouter()


def drf_errors(exc: DjangoValidationError) -> dict[str, Any]:
    """A service's ValidationError as DRF words errors: `{field: [messages]}`, the model's
    "__all__" (or a message with no field) under DRF's non-field key."""
    if not hasattr(exc, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
    return {
        api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: messages
        for field, messages in exc.message_dict.items()
    }
