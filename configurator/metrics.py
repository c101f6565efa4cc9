"""Prometheus metrics (prometheus_client): counters where things happen, state read at scrape.

Two kinds of figures, from two places:

- What happens (callbacks received and processed, webhook refusals, deliveries finished, how long
  a delivery took) is counted in the process that sees it, through the functions below. gunicorn
  runs several processes and `manage.py db_worker` is another: with PROMETHEUS_MULTIPROC_DIR set
  (prometheus_client's multiprocess mode), each writes its counters to files there and a scrape
  of any web process of the host adds them all up. Without it (one process, tests) the process's
  own counters are shown.
- What is (conversations waiting per queue and the oldest wait, workers' heartbeats, the backlog of
  pending callbacks and deliveries) is read from the database at scrape time by the state readers
  each app registers in its `AppConfig.ready()` (`configurator.extensions.metrics_state_readers`),
  each a few indexed queries whose cost does not grow with the tables' history (docs/deployment.md,
  "Metrics").

`/metrics` is protected by `scrape_allowed`: METRICS_TOKEN as a bearer token, or a client address
in METRICS_ALLOWED_NETWORKS; neither configured refuses every scrape.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.cache import add_never_cache_headers
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from configurator import extensions
from configurator.authentication import client_ip
from configurator.networks import Network, networks

logger = logging.getLogger(__name__)

# --- What happens: counted where it happens ----------------------------------------------------

CALLBACKS_RECEIVED = Counter(
    "configurator_webhook_callbacks_received",
    "Sinch callbacks verified and stored by the webhook, by trigger.",
    ["trigger"],
)
WEBHOOK_REFUSALS = Counter(
    "configurator_webhook_refusals",
    "Callbacks the webhook refused, by reason (messaging.webhooks.ingest.REFUSAL_KINDS).",
    ["reason"],
)
CALLBACKS_PROCESSED = Counter(
    "configurator_callbacks_processed",
    "Callbacks a worker finished, by trigger and outcome (processed, ignored, failed).",
    ["trigger", "status"],
)
DELIVERIES_FINISHED = Counter(
    "configurator_deliveries_finished",
    "Integration deliveries finished, by integration id and status "
    "(succeeded, failed, retrying: failed with a next attempt scheduled, skipped).",
    ["integration", "status"],
)
# From a tenth of a second to the longest an endpoint may take with its OAuth token.
_CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
DELIVERY_DURATION = Histogram(
    "configurator_delivery_duration_seconds",
    "How long an integration's endpoint took to answer one delivery, by mode.",
    ["mode"],
    buckets=_CALL_BUCKETS,
)
_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
DELIVERY_LATENCY = Histogram(
    "configurator_delivery_latency_seconds",
    "From a conversation event to its delivery finishing (queueing and retries included), by mode.",
    ["mode"],
    buckets=_LATENCY_BUCKETS,
)


def callback_received(trigger: str) -> None:
    """The webhook stored a callback."""
    CALLBACKS_RECEIVED.labels(trigger=trigger or "unknown").inc()


def webhook_refused(reason: str) -> None:
    """The webhook refused a callback, for one of messaging.webhooks.ingest.REFUSAL_KINDS."""
    WEBHOOK_REFUSALS.labels(reason=reason).inc()


def callback_processed(trigger: str, status: str) -> None:
    """A worker finished a callback with this outcome."""
    CALLBACKS_PROCESSED.labels(trigger=trigger or "unknown", status=status).inc()


def delivery_finished(
    *,
    integration_id: int,
    status: str,
    mode: str,
    duration_seconds: float | None,
    latency_seconds: float | None,
) -> None:
    """A delivery reached a final status (or failed with a retry scheduled)."""
    DELIVERIES_FINISHED.labels(integration=str(integration_id), status=status).inc()
    if duration_seconds is not None:
        DELIVERY_DURATION.labels(mode=mode).observe(duration_seconds)
    if latency_seconds is not None:
        DELIVERY_LATENCY.labels(mode=mode).observe(max(latency_seconds, 0.0))


# --- What is: read from the database at scrape time --------------------------------------------


class StateCollector(Collector):
    """The registered state readers; a database that fails shows as configurator_state_up 0."""

    def collect(self) -> Iterable[Metric]:
        families: list[Metric] = []
        up = 1
        for reader in extensions.metrics_state_readers:
            try:
                families.extend(reader())
            except DatabaseError:
                logger.warning(
                    "metrics state %s could not be read", reader.__qualname__, exc_info=True
                )
                up = 0
        state_up = GaugeMetricFamily(
            "configurator_state_up",
            "1 when every figure read from the database at this scrape could be read.",
            value=up,
        )
        return [state_up, *families]


def gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    """A gauge family for a state reader to fill (`add_metric`)."""
    return GaugeMetricFamily(name, documentation, labels=labels)


class _ThisProcess(Collector):
    """The process's own default registry (its counters), when there is no multiprocess dir."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def exposition(accept: str) -> tuple[bytes, str]:
    """The body and content type of one scrape: this host's counters and the state read now.

    The format follows the scraper's Accept header (Prometheus' text format, or OpenMetrics).
    """
    registry = CollectorRegistry(auto_describe=False)
    multiproc_dir: str = settings.PROMETHEUS_MULTIPROC_DIR
    if multiproc_dir:
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(StateCollector())
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


# --- Who may scrape -----------------------------------------------------------------------------


def allowed_networks() -> tuple[Network, ...]:
    """METRICS_ALLOWED_NETWORKS, parsed (a system check refuses a list that does not parse)."""
    return networks(tuple(settings.METRICS_ALLOWED_NETWORKS))


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """METRICS_ALLOWED_NETWORKS must be CIDRs (a typo would refuse every scrape, or worse)."""
    try:
        allowed_networks()
    except ValueError as exc:
        return [
            checks.Error(
                f"METRICS_ALLOWED_NETWORKS: {exc}",
                hint="A comma-separated list of networks such as 10.0.0.0/8,192.168.1.5/32.",
                id="configurator.E201",
            )
        ]
    return []


def _bearer(request: HttpRequest) -> str | None:
    scheme, _, credentials = str(request.META.get("HTTP_AUTHORIZATION", "")).partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def scrape_refusal(request: HttpRequest) -> HttpResponse | None:
    """None when this request may read the metrics; otherwise the answer (401/403) to give.

    A request may when it carries METRICS_TOKEN as a bearer token, or when its client address
    (TRUSTED_PROXY_COUNT applied, as everywhere) is in METRICS_ALLOWED_NETWORKS.
    """
    token: str = settings.METRICS_TOKEN
    offered = _bearer(request)
    if token and offered is not None:
        if hmac.compare_digest(offered.encode(), token.encode()):
            return None
        logger.warning("metrics scrape with a wrong token from %s", client_ip(request))
        return _refused(401, "wrong token")
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        address = None
    if address is not None and any(address in network for network in allowed_networks()):
        return None
    if token:
        return _refused(401, "a bearer token is required")
    return _refused(403, "metrics are not served to this address")


def _refused(status: int, reason: str) -> HttpResponse:
    response = JsonResponse({"error": reason}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def metrics_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """GET /metrics: Prometheus' text format, for a scraper the settings allow."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    refusal = scrape_refusal(request)
    if refusal is None:
        body, content_type = exposition(str(request.META.get("HTTP_ACCEPT", "")))
        response = HttpResponse(body, content_type=content_type)
    else:
        response = refusal
    add_never_cache_headers(response)
    return response
