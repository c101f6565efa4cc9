"""/metrics in Prometheus' text format, after real webhook posts and processing; who may read it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import checks
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from configurator import workers
from configurator.models import WorkerHeartbeat
from conversations.models import Contact
from integrations.models import Delivery, Integration
from messaging.models import Callback, MessagingService
from messaging.webhooks.processing import callbacks_process_pending
from queues.models import Queue
from tests.factories import make_contact, make_integration, make_queue
from tests.httpsink import HttpsSink
from tests.sinch import fixture_body, post_callback, signed_headers
from tests.taskrunner import run_tasks_until

TOKEN = "metrics-token-0123456789abcdef"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(client: Client, **extra: Any) -> Samples:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def token(settings: Any) -> str:
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


# --- Who may scrape


def test_nobody_may_scrape_until_a_token_or_networks_are_set(client: Client) -> None:
    response = client.get("/metrics")
    assert response.status_code == 403
    assert b"configurator_" not in response.content


def test_a_token_is_required_and_compared(client: Client, token: str) -> None:
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert token.encode() not in missing.content


@pytest.mark.django_db
def test_an_allowed_network_may_scrape_without_a_token(client: Client, settings: Any) -> None:
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 403
    # Behind one proxy the client is the proxy's X-Forwarded-For entry, not the proxy.
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    assert (
        client.get("/metrics", HTTP_X_FORWARDED_FOR="192.0.2.1", REMOTE_ADDR=proxy).status_code
        == 403
    )
    assert (
        client.get("/metrics", HTTP_X_FORWARDED_FOR="10.9.9.9", REMOTE_ADDR=proxy).status_code
        == 200
    )
    # Spoofing the left part of the header does not help.
    spoofed = client.get("/metrics", HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.1", REMOTE_ADDR=proxy)
    assert spoofed.status_code == 403


@pytest.mark.django_db
def test_scrapers_reach_it_by_address_over_plain_http(
    client: Client, token: str, settings: Any
) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["configurator.example.com"]
    assert _scrape(client, HTTP_HOST="10.1.2.3:8000")


def test_allowed_networks_that_do_not_parse_are_a_system_error(settings: Any) -> None:
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "not-a-network"]
    errors = [e for e in checks.run_checks() if e.id == "configurator.E201"]
    assert len(errors) == 1
    assert "not-a-network" in errors[0].msg


# --- What it shows


@pytest.mark.django_db
def test_counts_webhook_posts_refusals_processing_and_deliveries(
    client: Client,
    token: str,
    service: MessagingService,
    queue: Queue,
    https_sink: HttpsSink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    listener = make_integration(
        "Queued listener",
        queues=[queue],
        endpoint_url=f"{https_sink.url}/events",
        events=["queued"],
    )
    before = _scrape(client)

    body = fixture_body("message_inbound", message__id="01HMETRICS0000000000000001")
    headers = signed_headers(body)
    assert post_callback(client, service.pk, body, headers).status_code == 200
    assert post_callback(client, service.pk, body, headers).status_code == 401  # nonce again
    forged = signed_headers(body, secret="not-the-secret")
    assert post_callback(client, service.pk, body, forged).status_code == 401
    stale = signed_headers(body, timestamp=1_000_000)
    assert post_callback(client, service.pk, body, stale).status_code == 401

    stored = _scrape(client)
    received = "configurator_webhook_callbacks_received_total"
    refused = "configurator_webhook_refusals_total"
    trigger = {"trigger": "MESSAGE_INBOUND"}
    assert _value(stored, received, **trigger) - _value(before, received, **trigger) == 1
    for reason in ("nonce_reused", "signature_mismatch", "timestamp"):
        gained = _value(stored, refused, reason=reason) - _value(before, refused, reason=reason)
        assert gained == 1, reason
    assert _value(stored, "configurator_callbacks_pending") == 1
    assert _value(stored, "configurator_conversations_waiting") == 0

    # The deliveries' counters count on commit, which the test's transaction never does.
    with django_capture_on_commit_callbacks(execute=True):
        assert callbacks_process_pending() == 1
        run_tasks_until(lambda: Delivery.objects.filter(status="succeeded").exists())

    after = _scrape(client)
    processed = "configurator_callbacks_processed_total"
    done = {"trigger": "MESSAGE_INBOUND", "status": "processed"}
    assert _value(after, processed, **done) - _value(before, processed, **done) == 1
    assert _value(after, "configurator_callbacks_pending") == 0
    assert _value(after, "configurator_callbacks_oldest_pending_seconds") == 0
    waiting = {"queue_id": str(queue.pk), "queue": "Support"}
    assert _value(after, "configurator_queue_conversations_waiting", **waiting) == 1
    assert _value(after, "configurator_queue_oldest_wait_seconds", **waiting) >= 0
    assert _value(after, "configurator_conversations_waiting") == 1
    finished = "configurator_deliveries_finished_total"
    succeeded = {"integration": str(listener.pk), "status": "succeeded"}
    assert _value(after, finished, **succeeded) - _value(before, finished, **succeeded) == 1
    for histogram in ("configurator_delivery_duration_seconds", "configurator_delivery_latency"):
        name = f"{histogram.removesuffix('_seconds')}_seconds_count"
        gained = _value(after, name, mode="background") - _value(before, name, mode="background")
        assert gained == 1, histogram
    assert _value(after, "configurator_deliveries_backlog", state="due") == 0
    assert _value(after, "configurator_state_up") == 1


@pytest.mark.django_db
def test_shows_the_backlog_and_the_workers(
    client: Client, token: str, service: MessagingService, queue: Queue, settings: Any
) -> None:
    settings.WORKER_STALE_SECONDS = 60
    workers.heartbeat()
    WorkerHeartbeat.objects.create(
        worker_id="gone",
        hostname="old-host",
        pid=1,
        started_at=timezone.now() - timedelta(hours=2),
        seen_at=timezone.now() - timedelta(minutes=5),
    )
    for n in range(2):
        body = fixture_body("message_inbound", message__id=f"01HBACKLOG{n:016d}")
        assert post_callback(client, service.pk, body).status_code == 200
    Callback.objects.update(received_at=timezone.now() - timedelta(seconds=90))

    samples = _scrape(client)
    assert _value(samples, "configurator_workers_live") == 1
    gone = _value(
        samples, "configurator_worker_heartbeat_age_seconds", worker="gone", host="old-host"
    )
    assert 299 <= gone < 400
    assert _value(samples, "configurator_callbacks_pending") == 2
    assert 90 <= _value(samples, "configurator_callbacks_oldest_pending_seconds") < 200


# --- Cheap at a year of data


def _rows(n: int, service: MessagingService, queues: list[Queue], integration: Integration) -> None:
    """n callbacks of each status, n contacts waiting across the queues, n finished deliveries."""
    for status in ("pending", "processed", "failed"):
        for i in range(n):
            body = fixture_body("message_inbound", message__id=f"01H{status}{i:020d}")
            Callback.objects.create(
                service=service,
                trigger="MESSAGE_INBOUND",
                nonce=f"{status}-{i}-{n}",
                signed_at=timezone.now(),
                raw_body=body,
                dedupe_key=f"{status}:{i}:{n}",
                status=status,
            )
    for i in range(n):
        make_contact(queues[i % len(queues)], identity=f"4670{n:03d}{i:05d}")
    for delivery in Delivery.objects.filter(status="pending")[:n]:
        delivery.status = "succeeded"
        delivery.save(update_fields=["status"])


@pytest.mark.django_db
def test_a_scrape_runs_the_same_queries_whatever_the_rows(
    client: Client, token: str, service: MessagingService, queue: Queue
) -> None:
    queues: list[Queue] = [queue, make_queue("Sales", ["01E4556565565ERKYO@facebook"])]
    integration = make_integration("listener", queues=queues, events=["queued"])
    workers.heartbeat()

    def queries(rows: Callable[[], None]) -> list[str]:
        rows()
        with CaptureQueriesContext(connection) as captured:
            _scrape(client)
        return [query["sql"] for query in captured.captured_queries]

    few = queries(lambda: _rows(3, service, queues, integration))
    many = queries(lambda: _rows(6, service, queues, integration))
    assert Contact.objects.filter(waiting_since__isnull=False).count() == 9
    assert len(few) == len(many)
    assert len(many) <= 6
