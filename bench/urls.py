"""The project's URLs plus /bench/bare/, a view that does nothing, as the yardstick, and the
webhook's Django view reached through the whole Django stack."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from configurator.urls import urlpatterns as project_urlpatterns
from messaging.webhooks.views import sinch_webhook


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    """Answer 200 without touching the database."""
    return HttpResponse("ok")


urlpatterns = [
    path("bench/bare/", bare),
    # The webhook's Django view under a path the lean WSGI entry does not take.
    path("bench/webhook-django/<int:service_id>/", sinch_webhook),
    *project_urlpatterns,
]
