"""The Sinch webhook endpoint: connects verification and storage, and answers."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from messaging.webhooks.ingest import WebhookRejected, store_callback, verify_callback

logger = logging.getLogger("messaging.webhooks")


@csrf_exempt
@require_POST
def sinch_webhook(request: HttpRequest, service_id: int) -> HttpResponse:
    """POST /webhooks/sinch/<service id>/: verify, store, answer 200; work happens later."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    try:
        if declared > settings.SINCH_WEBHOOK_MAX_BODY:
            # Refuse before reading: the body never enters memory.
            raise WebhookRejected(413, "body larger than 1 MiB")
        verified = verify_callback(service_id=service_id, body=request.body, meta=request.META)
        callback_id = store_callback(verified)
    except WebhookRejected as exc:
        logger.warning(
            "sinch webhook refused: service=%s status=%s reason=%s",
            service_id,
            exc.status,
            exc.reason,
        )
        return JsonResponse({"error": exc.reason}, status=exc.status)
    except DatabaseError:
        # Nothing was stored; Sinch retries a callback that was not answered with 2xx.
        logger.exception("sinch webhook not stored: service=%s", service_id)
        return JsonResponse({"error": "callback could not be stored, retry later"}, status=503)
    except ImproperlyConfigured:
        # The webhook secret cannot be decrypted (SECRETS_ENCRYPTION_KEYS lost its key): the
        # operator must act; until then Sinch keeps the callback and retries.
        logger.exception("sinch webhook not verified: service=%s", service_id)
        return JsonResponse({"error": "callback could not be verified, retry later"}, status=503)
    # Formatted by hand: JsonResponse's encoder costs more than the rest of the answer.
    return HttpResponse(
        b'{"status": "accepted", "callback": %d}' % callback_id, content_type="application/json"
    )
