"""Log lines carry the callback, contact and integration they concern; LOG_FORMAT=json."""

from __future__ import annotations

import io
import json
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from django.conf import settings as django_settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from configurator.logcontext import (
    JsonLineFormatter,
    LogContextFilter,
    TextFormatter,
    in_this_context,
    log_context,
)
from conversations.models import Contact
from integrations.models import Delivery
from messaging.models import Callback
from tests.factories import make_integration, make_queue, make_service
from tests.httpsink import HttpsSink
from tests.sinch import WEBHOOK_SECRET, fixture_body, post_callback
from tests.workers import start_worker, wait_until, workers

APP = "01E4556565565ERKYO"
API_KEY = "integration-api-key-secret-5150"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    """A logger whose handler is configured as settings.LOGGING's (the filter on the handler)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(LogContextFilter())
    handler.setFormatter(JsonLineFormatter())
    logger = logging.getLogger("tests.logs")
    library = logging.getLogger("urllib3.connectionpool")
    for each in (logger, library):
        each.addHandler(handler)
        each.setLevel(logging.DEBUG)
        each.propagate = False
    yield logger, stream, handler
    for each in (logger, library):
        each.removeHandler(handler)
        each.propagate = True
        each.setLevel(logging.NOTSET)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_lines_carry_the_ids_set_around_them_libraries_included(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = captured
    logger.info("before")
    with log_context(callback_id=12):
        with log_context(contact_id="C1", integration_id=7):
            logging.getLogger("urllib3.connectionpool").debug("Starting new HTTPS connection")
        logger.warning("after the integration")
    logger.info("outside")
    lines = _lines(stream)
    assert [line["message"] for line in lines] == [
        "before",
        "Starting new HTTPS connection",
        "after the integration",
        "outside",
    ]
    assert {k: lines[1].get(k) for k in ("callback_id", "contact_id", "integration_id")} == {
        "callback_id": 12,
        "contact_id": "C1",
        "integration_id": 7,
    }
    assert lines[1]["logger"] == "urllib3.connectionpool"
    assert lines[1]["level"] == "DEBUG"
    assert "time" in lines[1]
    assert lines[2]["callback_id"] == 12
    assert "contact_id" not in lines[2]
    assert "callback_id" not in lines[0]
    assert "callback_id" not in lines[3]


def test_work_deferred_after_a_commit_keeps_the_ids_it_was_deferred_with(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = captured
    with log_context(contact_id="C2"):
        later = in_this_context(lambda: logger.info("deferred"))
    later()
    assert _lines(stream)[0]["contact_id"] == "C2"


def test_text_lines_show_the_ids_after_the_message() -> None:
    formatter = TextFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "callback done", None, None)
    with log_context(callback_id=3, contact_id="C3"):
        LogContextFilter().filter(record)
    assert formatter.format(record) == "INFO callback done [callback_id=3 contact_id=C3]"


@pytest.mark.django_db(transaction=True)
def test_a_worker_logs_json_lines_with_the_ids_and_counts_for_metrics(
    client: Client,
    https_sink: HttpsSink,
    sink_ca: tuple[trustme.CA, Path],
    tmp_path: Path,
    settings: Any,
) -> None:
    """A real db_worker with LOG_FORMAT=json: every line is JSON, those about the callback, the
    contact and the integration carry their ids, no secret shows; its counters reach /metrics
    through the multiprocess directory."""
    service = make_service(app_id=APP)
    queue = make_queue("Support", [f"{APP}@whatsapp"])
    listener = make_integration(
        "Queued listener",
        queues=[queue],
        endpoint_url=f"{https_sink.url}/events",
        events=["queued"],
        configuration={
            "request": {
                "method": "POST",
                "headers": {"x-api-key": "{authentications.api-key}"},
                "body": {"event": "{event}", "id": "{contact.id}"},
            }
        },
        authentications={"api-key": API_KEY},
    )
    shared = tmp_path / "metrics"
    shared.mkdir()
    with workers() as started:
        worker = start_worker(
            "json-logs",
            LOG_FORMAT="json",
            LOG_LEVEL="DEBUG",
            INTEGRATIONS_CA_BUNDLE=str(sink_ca[1]),
            PROMETHEUS_MULTIPROC_DIR=str(shared),
        )
        started.append(worker)
        body = fixture_body("message_inbound", message__id="01HJSONLOGS000000000000001")
        assert post_callback(client, service.pk, body).status_code == 200
        wait_until(lambda: Delivery.objects.filter(status="succeeded").exists(), 60, "the delivery")
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert https_sink.requests[0].headers["x-api-key"] == API_KEY

    callback = Callback.objects.get()
    contact = Contact.objects.get()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert lines, output

    def about(text: str) -> list[dict[str, Any]]:
        return [line for line in lines if text in line["message"]]

    (processed,) = about(f"callback {callback.pk} processed")
    assert processed["callback_id"] == callback.pk
    assert processed["level"] == "INFO"
    events = about(f"contact {contact.pk} ")
    assert [line["message"].rsplit(" ", 1)[1] for line in events] == ["received", "queued"]
    for line in events:
        assert (line["contact_id"], line["callback_id"]) == (contact.pk, callback.pk)
    (delivered,) = about("delivery ")
    assert (delivered["integration_id"], delivered["contact_id"]) == (listener.pk, contact.pk)
    # urllib3's own lines, logged while the integration was called.
    library = [line for line in lines if line["logger"].startswith("urllib3")]
    assert library
    assert {line.get("integration_id") for line in library} == {listener.pk}
    # A background delivery runs outside the contact's lifecycle: the call binds the contact.
    assert {line.get("contact_id") for line in library} == {contact.pk}
    # Whatever a thread or the process left uncaught would be a JSON line too (parsed above).

    for secret in (WEBHOOK_SECRET, API_KEY, django_settings.SECRET_KEY):
        assert secret not in output
    for key in django_settings.SECRETS_ENCRYPTION_KEYS:
        assert key not in output

    settings.PROMETHEUS_MULTIPROC_DIR = str(shared)
    settings.METRICS_TOKEN = "t" * 32
    scraped = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {'t' * 32}").content.decode()
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
    }
    processed_key = frozenset({"trigger": "MESSAGE_INBOUND", "status": "processed"}.items())
    assert samples[("configurator_callbacks_processed_total", processed_key)] == 1
    succeeded = frozenset({"integration": str(listener.pk), "status": "succeeded"}.items())
    assert samples[("configurator_deliveries_finished_total", succeeded)] == 1


@pytest.mark.django_db
def test_the_webhook_s_wake_up_line_carries_the_stored_callback_s_id(
    client: Client,
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The task enqueued for a just-stored callback (django-tasks' DEBUG line) names it."""
    _, stream, handler = captured
    tasks = logging.getLogger("django_tasks")
    tasks.addHandler(handler)
    tasks.setLevel(logging.DEBUG)
    try:
        service = make_service(app_id=APP)
        body = fixture_body("message_inbound", message__id="01HJSONLOGS000000000000002")
        with django_capture_on_commit_callbacks(execute=True):
            assert post_callback(client, service.pk, body).status_code == 200
    finally:
        tasks.removeHandler(handler)
        tasks.setLevel(logging.NOTSET)
    (enqueued,) = [line for line in _lines(stream) if "enqueued" in line["message"]]
    assert "process_callbacks" in enqueued["message"]
    assert enqueued["callback_id"] == Callback.objects.get().pk
