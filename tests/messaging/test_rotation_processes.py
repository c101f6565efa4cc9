"""A rotation reaches another web process: a real gunicorn serving the webhook.

The new secret verifies there at once; a secret rotated out with no overlap is refused there
within the cache's bound (WebhookSecretCache.ttl, 5 s), well before the minute it used to take.
"""

from __future__ import annotations

import signal
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from itertools import count

import pytest
from django.utils import timezone

from messaging import services
from messaging.models import Callback, MessagingService, ServiceAuthentication
from messaging.webhooks.secrets import WebhookSecretCache
from tests.factories import make_service
from tests.sinch import WEBHOOK_SECRET, fixture_body, signed_headers
from tests.tcpproxy import free_port
from tests.workers import start_gunicorn, wait_until

# Far below the minute the cache used to keep a secret; above its bound, for a loaded machine.
BOUND = WebhookSecretCache.ttl + 10


@pytest.mark.django_db(transaction=True)
def test_rotation_reaches_another_process_new_at_once_removed_within_the_bound() -> None:
    service: MessagingService = make_service(app_id="01E4556565565ERKYO")
    port = free_port()
    server = start_gunicorn(port)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(server.stdout or []), daemon=True)
    reader.start()
    numbers = count(1)

    def post(secret: str) -> int:
        body = fixture_body("message_inbound", message__id=f"01HMSGPROC{next(numbers):016d}")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhooks/sinch/{service.pk}/",
            data=body,
            headers=signed_headers(body, secret=secret),
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return int(answer.status)
        except urllib.error.HTTPError as refused:
            return int(refused.code)
        except OSError:
            return 0  # not listening yet

    try:
        # The worker caches the first secret.
        wait_until(lambda: post(WEBHOOK_SECRET) == 200, 60, "the webhook answering 200")
        services.webhook_secret_rotate(service=service, secret="second-secret", overlap_hours=1)
        assert post("second-secret") == 200  # at once: a mismatch reads the entry again
        assert post(WEBHOOK_SECRET) == 200  # the previous one, in its overlap
        # Once that overlap has ended, rotated out with no overlap: the worker still holds
        # "second-secret" as current (and the first one's overlap as it was when it read it).
        ServiceAuthentication.objects.filter(service=service, direction="inbound").update(
            previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
        )
        services.webhook_secret_rotate(service=service, secret="third-secret", overlap_hours=0)
        wait_until(lambda: post("second-secret") == 401, BOUND, "the rotated-out secret refused")
        assert post(WEBHOOK_SECRET) == 401
        assert post("third-secret") == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        reader.join(timeout=10)
    verified = list(Callback.objects.order_by("id").values_list("verified_with", flat=True))
    assert verified[-1] == "current"
    assert "previous" in verified, "".join(output)
