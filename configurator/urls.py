"""URL map: admin, REST API v1 with its OpenAPI schema, and the Sinch webhook.

The operations endpoints (/health/live, /health/ready, /metrics) are not here: they are answered
by configurator.middleware.OperationsMiddleware, ahead of the host check and HTTPS redirect.
"""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, reverse
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from configurator.api import router
from configurator.audit_api import AuditEntryViewSet
from conversations.api.urls import register as register_conversations
from integrations.api.urls import register as register_integrations
from messaging.api.urls import register as register_messaging
from messaging.webhooks.views import sinch_webhook
from queues.api.urls import register as register_queues
from transfer.api import ConfigExportView, ConfigImportView

register_messaging(router)
register_queues(router)
register_conversations(router)
register_integrations(router)
router.register("audit", AuditEntryViewSet, basename="audit-entry")

_swagger_ui = SpectacularSwaggerView.as_view(url_name="schema")


def api_docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI (ApiDocsPermission); a browser that is not logged in goes to the login first."""
    response: HttpResponse = _swagger_ui(request)
    refused = response.status_code in (401, 403)
    if refused and "HTTP_AUTHORIZATION" not in request.META:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    return response


urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/config/export/", ConfigExportView.as_view(), name="config-export"),
    path("api/v1/config/import/", ConfigImportView.as_view(), name="config-import"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("webhooks/sinch/<int:service_id>/", sinch_webhook, name="sinch-webhook"),
]
