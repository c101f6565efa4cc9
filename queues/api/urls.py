"""Routes of the queues app under /api/v1/."""

from rest_framework.routers import DefaultRouter

from queues.api.views import QueueViewSet


def register(router: DefaultRouter) -> None:
    """Add the queue endpoints to the v1 router."""
    router.register("queues", QueueViewSet, basename="queue")
