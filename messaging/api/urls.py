"""Routes of the messaging app under /api/v1/."""

from rest_framework.routers import DefaultRouter

from messaging.api.views import CallbackViewSet, MessagingServiceViewSet


def register(router: DefaultRouter) -> None:
    """Add the messaging endpoints to the v1 router."""
    router.register("messaging-services", MessagingServiceViewSet, basename="messaging-service")
    router.register("callbacks", CallbackViewSet, basename="callback")
