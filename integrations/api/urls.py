"""Routes of the integrations app under /api/v1/."""

from rest_framework.routers import DefaultRouter

from integrations.api.views import IntegrationViewSet


def register(router: DefaultRouter) -> None:
    """Add the integration endpoints to the v1 router."""
    router.register("integrations", IntegrationViewSet, basename="integration")
