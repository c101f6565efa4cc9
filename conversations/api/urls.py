"""Routes of the conversations app under /api/v1/."""

from rest_framework.routers import DefaultRouter

from conversations.api.views import AgentViewSet, ContactViewSet


def register(router: DefaultRouter) -> None:
    """Add the agent and contact endpoints to the v1 router."""
    router.register("agents", AgentViewSet, basename="agent")
    router.register("contacts", ContactViewSet, basename="contact")
