"""The Sinch webhook as a Django view: what the test client and any request the lean WSGI entry
(messaging.webhooks.entry) hands on reach; both answer through `ingest.receive`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from messaging.webhooks.ingest import receive


@csrf_exempt
@require_POST
def sinch_webhook(request: HttpRequest, service_id: int) -> HttpResponse:
    """POST /webhooks/sinch/<service id>/: verify, store, answer 200; work happens later."""
    status, content = receive(
        service_id=service_id, meta=request.META, read_body=lambda: request.body
    )
    return HttpResponse(content, status=status, content_type="application/json")
