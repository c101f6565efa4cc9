"""Integrations on lifecycle events: selection, blocking set/save, background deliveries, retries.

Every call goes to a real HTTPS server on 127.0.0.1 (`https_sink`); tasks run through
django-tasks-db's worker code in this process.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from django.utils import timezone

from conversations import services as conversation_services
from conversations.models import Contact
from integrations import dispatch, services
from integrations.models import Delivery, Integration
from integrations.selectors import integrations_for_event
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_integration, make_queue
from tests.httpsink import HttpsSink, SinkAnswer
from tests.taskrunner import run_ready_tasks, run_tasks_until

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parents[1] / "fixtures" / "integrations"
BASIC_SECRET = "basic-pass-9f8e7d"
API_KEY = "api-key-value-4c3b2a"
ALL_EVENTS = [
    "received",
    "queued",
    "allocated",
    "accepted",
    "rejected",
    "transferred",
    "forwarded",
    "ended",
    "abandoned",
]


@pytest.fixture(autouse=True)
def _fast_retries(settings: Any) -> None:
    settings.INTEGRATIONS_RETRY_BASE_SECONDS = 0.02
    settings.INTEGRATIONS_RETRY_MAX_SECONDS = 0.1


def seed004(variant: int) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"seed004_variant{variant}.json").read_text())
    return loaded


def listener(sink: HttpsSink, queues: list[Queue], **fields: Any) -> Integration:
    """The seed 004 lifecycle listener (variant 1) on every event of the given queues."""
    values: dict[str, Any] = {
        "endpoint_url": f"{sink.url}/contact-pro-events/{{event}}",
        "events": ALL_EVENTS,
        "configuration": seed004(1),
        "authentications": {"basic:cc-user": BASIC_SECRET, "api-key": API_KEY},
    }
    values.update(fields)
    return make_integration(queues=queues, **values)


def routing(sink: HttpsSink, queue: Queue, *, timeout: float = 1, **fields: Any) -> Integration:
    values: dict[str, Any] = {
        "endpoint_url": f"{sink.url}/route",
        "events": ["received"],
        "configuration": {
            "request": {
                "method": "GET",
                "params": {"source": "{contact.source}"},
                "timeout": timeout,
            },
            "response": {
                "set": {
                    "queue": {"id": "{response.body.queue.id}"},
                    "priority": "{response.body.priority}",
                }
            },
        },
    }
    values.update(fields)
    return make_integration(queues=[queue], **values)


def walk_through_every_event(first: Queue, second: Queue) -> tuple[Contact, Contact]:
    """One conversation through seven events, another abandoned: all nine events happen."""
    agent = make_agent(queues=[first, second])
    other = make_agent(queues=[first, second])
    contact = make_contact(first)  # received, queued
    conversation_services.contact_forward(contact=contact, queue=second)
    conversation_services.contact_allocate(contact=contact, agent=agent)
    conversation_services.contact_reject(contact=contact)
    conversation_services.contact_allocate(contact=contact, agent=agent)
    conversation_services.contact_accept(contact=contact)
    conversation_services.contact_transfer(contact=contact, agent=other)
    conversation_services.contact_accept(contact=contact)
    conversation_services.contact_end(contact=contact)
    gone = make_contact(first, identity="46709999999")
    conversation_services.contact_abandon(contact=gone)
    return contact, gone


def bodies(sink: HttpsSink) -> list[Any]:
    return [request.json for request in sink.requests]


# -- Selection


def test_selection_is_one_query(queue: Queue, django_assert_num_queries: Any) -> None:
    make_integration(queues=[queue], events=["queued", "ended"])
    make_integration(direct_chats=True, events=["ended"])
    with django_assert_num_queries(1):
        found = integrations_for_event(
            event="ended", channel_type="chat", direction="inbound", queue_id=queue.pk
        )
    assert len(found) == 1


def test_selection_matches_event_direction_channel_and_scope(queue: Queue) -> None:
    other = make_queue("Other")
    mine = make_integration("mine", queues=[queue], events=["ended"], ordinal=5)
    first = make_integration("first", queues=[queue, other], events=["ended"], ordinal=1)
    make_integration("other queue", queues=[other], events=["ended"])
    make_integration("other event", queues=[queue], events=["queued"])
    make_integration("outbound", queues=[queue], events=["ended"], direction="outbound")
    make_integration("phone", channel_type="phone", direct_calls=True, events=["ended"])
    direct = make_integration("direct", direct_chats=True, events=["ended"])

    def names(queue_id: int | None) -> list[str]:
        found = integrations_for_event(
            event="ended", channel_type="chat", direction="inbound", queue_id=queue_id
        )
        return [i.name for i in found]

    assert names(queue.pk) == [first.name, mine.name]
    assert names(None) == [direct.name]
    services.integration_disable(integration=mine)
    assert names(queue.pk) == [first.name]
    services.integration_enable(integration=mine)
    assert names(queue.pk) == [first.name, mine.name]


# -- Background deliveries


def test_seed004_listener_receives_the_documented_body_on_every_event(
    https_sink: HttpsSink, queue: Queue
) -> None:
    second = make_queue("Second")
    integration = listener(https_sink, [queue, second])

    contact, gone = walk_through_every_event(queue, second)
    run_ready_tasks()

    received = https_sink.requests
    events = [request.json["event"] for request in received]
    assert events == [
        "received",
        "queued",
        "forwarded",
        "allocated",
        "rejected",
        "allocated",
        "accepted",
        "transferred",
        "accepted",
        "ended",
        "received",
        "queued",
        "abandoned",
    ]
    assert sorted(set(events)) == sorted(ALL_EVENTS)
    first = received[0]
    assert first.method == "POST"
    assert first.path == "/contact-pro-events/received"
    assert first.headers["x-api-key"] == API_KEY
    user, _, password = base64.b64decode(first.headers["authorization"][6:]).decode().partition(":")
    assert (user, password) == ("cc-user", BASIC_SECRET)
    assert first.json["contact"]["id"] == contact.pk
    assert first.json["contact"]["channel_type"] == "chat"
    assert first.json["contact"]["queue"] is None  # not in a queue yet when it is received
    ended = received[9].json["contact"]
    assert ended["state"] == "ended"
    assert ended["queue"]["id"] == second.pk
    assert ended["forwarding_queue"]["id"] == queue.pk
    assert ended["transferring_agent"] is not None
    assert received[-1].json["contact"]["id"] == gone.pk
    deliveries = Delivery.objects.filter(integration=integration)
    assert deliveries.count() == 13
    assert set(deliveries.values_list("status", flat=True)) == {"succeeded"}
    assert set(deliveries.values_list("mode", flat=True)) == {"background"}


def test_seed004_selected_fields_variant_posts_each_field_under_its_name(
    https_sink: HttpsSink, queue: Queue
) -> None:
    listener(
        https_sink,
        [queue],
        configuration=seed004(2),
        authentications={"basic:cc-user": BASIC_SECRET},
        events=["queued"],
    )

    contact = make_contact(queue)
    run_ready_tasks()

    body = https_sink.requests[0].json
    assert body["Event name"] == "queued"
    assert body["ID"] == contact.pk
    assert body["Current queue ID"] == queue.pk
    assert body["Current queue"]["name"] == queue.name
    assert body["Priority"] == contact.priority  # a single placeholder keeps its type


def test_fetch_and_save_fills_attached_data(https_sink: HttpsSink, queue: Queue) -> None:
    https_sink.default = SinkAnswer(
        body={"id": "crm-77", "properties": {"firstname": "Ada", "lastname": "Lovelace"}}
    )
    make_integration(
        queues=[queue],
        endpoint_url=f"{https_sink.url}/crm/{{contact.source}}",
        events=["received"],
        configuration={
            "request": {"method": "GET"},
            "response": {
                "save": {
                    "customer": {
                        "id": "{response.body.id}",
                        "name": "{response.body.properties.firstname} "
                        "{response.body.properties.lastname}",
                    }
                }
            },
        },
    )

    contact = make_contact(queue)
    run_ready_tasks()

    contact.refresh_from_db()
    assert contact.cad == {"customer": {"id": "crm-77", "name": "Ada Lovelace"}}
    assert https_sink.requests[0].path == "/crm/46701234567"
    delivery = Delivery.objects.get()
    assert delivery.applied == {"save": {"customer": {"id": "crm-77", "name": "Ada Lovelace"}}}


def test_csat_preset_fires_on_ended_only_when_an_agent_had_it(
    https_sink: HttpsSink, queue: Queue
) -> None:
    from integrations.presets import PRESETS_BY_KEY

    csat = PRESETS_BY_KEY["csat"]
    make_integration(
        queues=[queue],
        endpoint_url=f"{https_sink.url}/surveys",
        events=csat.events,
        configuration=csat.configuration,
        authentications={"api-key": API_KEY},
    )
    agent = make_agent(name="Alice", queues=[queue])
    served = make_contact(queue)
    conversation_services.contact_allocate(contact=served, agent=agent)
    conversation_services.contact_accept(contact=served)
    conversation_services.contact_end(contact=served)

    run_ready_tasks()

    assert len(https_sink.requests) == 1
    survey = https_sink.requests[0]
    assert survey.headers["x-api-key"] == API_KEY
    assert survey.json["conversation"] == served.pk
    assert survey.json["agent"] == "Alice"
    assert survey.json["channel"] == "whatsapp"


def test_condition_false_is_recorded_as_skipped(https_sink: HttpsSink, queue: Queue) -> None:
    make_integration(
        queues=[queue],
        endpoint_url=https_sink.url,
        events=["queued"],
        configuration={"request": {"method": "POST", "condition": "contact.priority > 500"}},
    )

    make_contact(queue)
    run_ready_tasks()

    delivery = Delivery.objects.get()
    assert delivery.status == "skipped"
    assert "condition is false" in delivery.error
    assert https_sink.requests == []


def test_only_the_first_three_by_ordinal_fire_and_the_rest_are_recorded(
    https_sink: HttpsSink, queue: Queue
) -> None:
    for ordinal in (4, 1, 3, 2):
        make_integration(
            f"ordinal {ordinal}",
            queues=[queue],
            endpoint_url=f"{https_sink.url}/{ordinal}",
            events=["queued"],
            ordinal=ordinal,
        )

    make_contact(queue)
    run_ready_tasks()

    assert [r.path for r in https_sink.requests] == ["/1", "/2", "/3"]
    skipped = Delivery.objects.get(status="skipped")
    assert skipped.integration.name == "ordinal 4"
    assert "only the first 3 integrations by ordinal fire" in skipped.error


def test_retries_on_503_with_backoff_until_it_succeeds(https_sink: HttpsSink, queue: Queue) -> None:
    https_sink.answer(SinkAnswer(status=503), SinkAnswer(status=503))
    make_integration(queues=[queue], endpoint_url=https_sink.url, events=["queued"])

    make_contact(queue)
    run_tasks_until(lambda: Delivery.objects.filter(status="succeeded").exists())

    attempts = list(Delivery.objects.order_by("attempt").values_list("attempt", "status"))
    assert attempts == [(1, "retrying"), (2, "retrying"), (3, "succeeded")]
    assert len(https_sink.requests) == 3
    first = Delivery.objects.get(attempt=1)
    assert first.status_code == 503
    assert "attempt 2 in" in first.error


def test_no_retry_on_400(https_sink: HttpsSink, queue: Queue) -> None:
    https_sink.default = SinkAnswer(status=400, body={"error": "bad field"})
    make_integration(queues=[queue], endpoint_url=https_sink.url, events=["queued"])

    make_contact(queue)
    run_ready_tasks()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.status_code, delivery.attempt) == ("failed", 400, 1)
    assert "bad field" in delivery.response_excerpt
    assert len(https_sink.requests) == 1


def test_retry_after_is_honoured(https_sink: HttpsSink, queue: Queue) -> None:
    https_sink.answer(SinkAnswer(status=429, headers={"Retry-After": "1"}))
    make_integration(queues=[queue], endpoint_url=https_sink.url, events=["queued"])

    make_contact(queue)
    run_tasks_until(lambda: Delivery.objects.filter(status="succeeded").exists())

    first, second = Delivery.objects.order_by("attempt")
    assert first.finished_at is not None
    assert (second.due_at - first.finished_at).total_seconds() >= 0.99
    assert https_sink.requests[1].received_at - https_sink.requests[0].received_at >= 0.99


def test_gives_up_after_the_configured_attempts(
    https_sink: HttpsSink, queue: Queue, settings: Any
) -> None:
    settings.INTEGRATIONS_MAX_ATTEMPTS = 3
    https_sink.default = SinkAnswer(status=500)
    make_integration(queues=[queue], endpoint_url=https_sink.url, events=["queued"])

    make_contact(queue)
    run_tasks_until(lambda: Delivery.objects.filter(status="failed").exists())

    statuses = list(Delivery.objects.order_by("attempt").values_list("status", flat=True))
    assert statuses == ["retrying", "retrying", "failed"]


def test_a_hanging_endpoint_is_cut_at_its_timeout(https_sink: HttpsSink, queue: Queue) -> None:
    https_sink.default = SinkAnswer(delay=3)
    make_integration(
        queues=[queue],
        endpoint_url=https_sink.url,
        events=["queued"],
        configuration={"request": {"method": "POST", "timeout": 0.3}},
    )

    make_contact(queue)
    run_ready_tasks()

    first = Delivery.objects.get(attempt=1)
    assert first.status == "retrying"
    assert "no answer within 0.3 s" in first.error


def test_a_private_address_is_refused_and_not_retried(
    https_sink: HttpsSink, queue: Queue, settings: Any
) -> None:
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []
    make_integration(queues=[queue], endpoint_url=https_sink.url, events=["queued"])

    make_contact(queue)
    run_ready_tasks()

    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert "127.0.0.1 is a loopback address" in delivery.error
    assert https_sink.requests == []


def test_failed_deliveries_can_be_sent_again(https_sink: HttpsSink, queue: Queue) -> None:
    https_sink.answer(SinkAnswer(status=404), SinkAnswer(status=404))
    integration = make_integration(queues=[queue], endpoint_url=https_sink.url, events=["queued"])
    make_contact(queue)
    make_contact(queue, identity="46700000002")
    run_ready_tasks()
    assert Delivery.objects.filter(status="failed").count() == 2

    again = dispatch.deliveries_resend(selection=integration.deliveries.all())
    run_ready_tasks()

    assert (len(again.scheduled), again.more) == (2, False)
    assert Delivery.objects.filter(status="succeeded").count() == 2
    # Each is resent once.
    assert dispatch.deliveries_resend(selection=integration.deliveries.all()).scheduled == []


@pytest.mark.parametrize("switch", ["disabled", "paused"])
def test_a_delivery_whose_integration_stopped_firing_before_it_was_sent_is_skipped(
    https_sink: HttpsSink, queue: Queue, switch: str
) -> None:
    integration = make_integration(queues=[queue], endpoint_url=https_sink.url, events=["queued"])
    make_contact(queue)
    if switch == "disabled":
        services.integration_disable(integration=integration)
    else:
        Integration.objects.filter(pk=integration.pk).update(paused_at=timezone.now())

    run_ready_tasks()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.error) == (
        "skipped",
        f"the integration was {switch} before this delivery was sent",
    )
    assert https_sink.requests == []


def test_resume_after_a_pause_lets_the_integration_fire_again(
    https_sink: HttpsSink, queue: Queue
) -> None:
    integration = make_integration(queues=[queue], endpoint_url=https_sink.url, events=["queued"])
    Integration.objects.filter(pk=integration.pk).update(paused_at=timezone.now())
    make_contact(queue)
    assert not Delivery.objects.exists()  # a paused integration is not selected

    assert services.integration_resume(integration=Integration.objects.get(pk=integration.pk))
    make_contact(queue, identity="46700000002")
    run_ready_tasks()

    assert len(https_sink.requests) == 1


def test_continuous_failures_pause_the_integration_until_it_is_enabled(
    https_sink: HttpsSink, queue: Queue, settings: Any
) -> None:
    settings.INTEGRATIONS_PAUSE_AFTER_FAILURES = 2
    https_sink.default = SinkAnswer(status=410)
    integration = make_integration(queues=[queue], endpoint_url=https_sink.url, events=["queued"])

    for n in range(3):
        make_contact(queue, identity=f"4670000000{n}")
        run_ready_tasks()

    integration.refresh_from_db()
    assert integration.paused_at is not None
    assert "2 deliveries in a row failed" in integration.paused_reason
    assert integration.enabled and not integration.fires
    assert len(https_sink.requests) == 2  # the third conversation did not call a dead endpoint

    assert services.integration_enable(integration=integration)
    integration.refresh_from_db()
    assert integration.paused_at is None and integration.consecutive_failures == 0
    https_sink.default = SinkAnswer()
    make_contact(queue, identity="46700000009")
    run_ready_tasks()
    assert len(https_sink.requests) == 3


def test_digest_authentication(https_sink: HttpsSink, queue: Queue) -> None:
    https_sink.answer(
        SinkAnswer(
            status=401,
            headers={"WWW-Authenticate": 'Digest realm="cc", nonce="abc123", qop="auth"'},
        )
    )
    make_integration(
        queues=[queue],
        endpoint_url=https_sink.url,
        events=["queued"],
        configuration={"request": {"method": "POST", "authentication": {"type": "digest"}}},
        authentications={"digest:cc-user": BASIC_SECRET},
    )

    make_contact(queue)
    run_ready_tasks()

    assert len(https_sink.requests) == 2
    answer = https_sink.requests[1].headers["authorization"]
    assert answer.startswith("Digest ") and 'username="cc-user"' in answer
    assert BASIC_SECRET not in answer
    assert Delivery.objects.get().status == "succeeded"


def test_oauth_client_credentials(https_sink: HttpsSink, queue: Queue) -> None:
    https_sink.answer(SinkAnswer(body={"access_token": "bearer-1", "expires_in": 600}))
    make_integration(
        queues=[queue],
        endpoint_url=f"{https_sink.url}/api",
        events=["queued"],
        configuration={
            "request": {
                "method": "POST",
                "authentication": {
                    "type": "oauth",
                    "access_token_url": f"{https_sink.url}/token",
                    "scope": ["events"],
                },
            }
        },
        authentications={"oauth:client-1": "client-secret-1"},
    )

    make_contact(queue)
    make_contact(queue, identity="46700000002")
    run_ready_tasks()

    paths = [r.path for r in https_sink.requests]
    assert paths == ["/token", "/api", "/api"]  # the token is cached
    assert https_sink.requests[1].headers["authorization"] == "Bearer bearer-1"


def _oauth_integration(https_sink: HttpsSink, queue: Queue) -> None:
    make_integration(
        queues=[queue],
        endpoint_url=f"{https_sink.url}/api",
        events=["queued"],
        configuration={
            "request": {
                "method": "POST",
                "authentication": {
                    "type": "oauth",
                    "access_token_url": f"{https_sink.url}/token",
                },
            }
        },
        authentications={"oauth:client-1": "client-secret-1"},
    )


def test_a_refused_cached_oauth_token_is_replaced_and_the_call_made_again(
    https_sink: HttpsSink, queue: Queue
) -> None:
    _oauth_integration(https_sink, queue)
    https_sink.answer(SinkAnswer(body={"access_token": "bearer-1", "expires_in": 600}))
    make_contact(queue)
    run_ready_tasks()
    # The endpoint revokes bearer-1 before it expires: 401 to the cached token, then a new one.
    https_sink.answer(
        SinkAnswer(status=401),
        SinkAnswer(body={"access_token": "bearer-2", "expires_in": 600}),
    )
    make_contact(queue, identity="46700000002")
    run_ready_tasks()

    paths = [r.path for r in https_sink.requests]
    assert paths == ["/token", "/api", "/api", "/token", "/api"]
    assert https_sink.requests[2].headers["authorization"] == "Bearer bearer-1"
    assert https_sink.requests[4].headers["authorization"] == "Bearer bearer-2"
    assert list(Delivery.objects.values_list("status", flat=True)) == ["succeeded"] * 2


def test_a_worker_renews_its_claim_on_a_delivery_before_a_second_call(
    https_sink: HttpsSink, queue: Queue
) -> None:
    # The lease then only has to outlast one call, as for callbacks (the sweep would otherwise
    # take over a delivery still being sent, and it would be sent twice).
    _oauth_integration(https_sink, queue)
    https_sink.answer(SinkAnswer(body={"access_token": "bearer-1", "expires_in": 600}))
    make_contact(queue)
    run_ready_tasks()
    long_ago = timezone.now() - timedelta(hours=1)
    renewed: list[datetime | None] = []
    renew = dispatch._claim_renew

    def renew_seen(delivery: Delivery) -> bool:
        Delivery.objects.filter(pk=delivery.pk).update(claimed_at=long_ago)
        done = renew(delivery)
        renewed.append(Delivery.objects.get(pk=delivery.pk).claimed_at)
        return done

    https_sink.answer(
        SinkAnswer(status=401), SinkAnswer(body={"access_token": "bearer-2", "expires_in": 600})
    )
    make_contact(queue, identity="46700000002")
    with patch.object(dispatch, "_claim_renew", renew_seen):
        run_ready_tasks()

    assert len(renewed) == 1 and renewed[0] is not None and renewed[0] > long_ago
    taken = Delivery.objects.order_by("pk").last()
    assert taken is not None
    taken.status, taken.claimed_by = "sending", "another-worker"
    taken.save()
    taken.claimed_by = "this-worker"
    assert not renew(taken)


def test_a_refused_fresh_oauth_token_fails_the_call_and_is_not_kept(
    https_sink: HttpsSink, queue: Queue
) -> None:
    _oauth_integration(https_sink, queue)
    https_sink.answer(
        SinkAnswer(body={"access_token": "bearer-1", "expires_in": 600}), SinkAnswer(status=401)
    )
    make_contact(queue)
    run_ready_tasks()
    https_sink.answer(SinkAnswer(body={"access_token": "bearer-2", "expires_in": 600}))
    make_contact(queue, identity="46700000002")
    run_ready_tasks()

    # No second call with a token just fetched; the next delivery fetches another.
    assert [r.path for r in https_sink.requests] == ["/token", "/api", "/token", "/api"]
    first, second = Delivery.objects.order_by("pk")
    assert (first.status, first.status_code, first.error) == ("failed", 401, "answered 401")
    assert second.status == "succeeded"
    assert "bearer-1" not in first.response_excerpt


# -- Blocking integrations


def test_received_integration_routes_to_the_answered_queue_before_queued(
    https_sink: HttpsSink, queue: Queue
) -> None:
    vip = make_queue("VIP")
    https_sink.default = SinkAnswer(body={"queue": {"id": vip.pk}, "priority": "10"})
    routing(https_sink, queue)

    contact = make_contact(queue)

    contact.refresh_from_db()
    assert contact.queue == vip
    assert contact.priority == 10
    events = list(contact.events.values_list("event", "detail"))
    assert events[1] == ("queued", "Queued in VIP")
    assert https_sink.requests[0].query == {"source": "46701234567"}
    delivery = Delivery.objects.get()
    assert delivery.mode == "blocking"
    assert delivery.status == "succeeded"
    assert delivery.applied == {
        "set": {"queue": {"id": vip.pk, "name": "VIP"}, "priority": 10},
    }


def test_blocking_failure_lets_the_conversation_go_on_unchanged(
    https_sink: HttpsSink, queue: Queue
) -> None:
    https_sink.default = SinkAnswer(delay=3)
    routing(https_sink, queue, timeout=0.3)

    contact = make_contact(queue)

    contact.refresh_from_db()
    assert contact.state == "queued"
    assert contact.queue == queue
    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert "no answer within 0.3 s" in delivery.error


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"queue": {"id": 99999}, "priority": "1"}, "set.queue: no queue has the ID “99999”"),
        ({"queue": {"id": None}, "priority": "high"}, "priority must be an integer"),
        ({"queue": {"id": None}, "priority": -4}, "priority must be an integer"),
    ],
)
def test_an_answer_that_does_not_fit_changes_nothing(
    https_sink: HttpsSink, queue: Queue, answer: dict[str, Any], error: str
) -> None:
    https_sink.default = SinkAnswer(body=answer)
    routing(https_sink, queue)

    contact = make_contact(queue)

    contact.refresh_from_db()
    assert (contact.queue, contact.priority) == (queue, queue.default_priority)
    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert error in delivery.error
    assert delivery.applied == {}


def test_phone_queue_answer_does_not_fit_a_chat(https_sink: HttpsSink, queue: Queue) -> None:
    phone = make_queue("Phones", ["+3581234"], channel_type="phone")
    https_sink.default = SinkAnswer(body={"queue": {"id": phone.pk}})
    routing(https_sink, queue)

    contact = make_contact(queue)

    contact.refresh_from_db()
    assert contact.queue == queue
    assert "carries phone conversations" in Delivery.objects.get().error


def test_set_runs_only_in_the_first_integration_that_succeeds_and_save_merges_in_order(
    https_sink: HttpsSink, queue: Queue
) -> None:
    agent = make_agent(name="Bob", number="2002", queues=[queue])
    https_sink.answer(
        SinkAnswer(body={"p": 7, "tier": "gold", "lang": "fi"}),
        SinkAnswer(body={"p": 3, "tier": "silver", "agent": "2002"}),
    )
    for ordinal, extra in ((1, {}), (2, {"preferredAgent": "{response.body.agent}"})):
        make_integration(
            f"steer {ordinal}",
            queues=[queue],
            endpoint_url=f"{https_sink.url}/{ordinal}",
            events=["received"],
            ordinal=ordinal,
            configuration={
                "request": {"method": "GET"},
                "response": {
                    "set": {"priority": "{response.body.p}", **extra},
                    "save": {"tier": "{response.body.tier}", f"from{ordinal}": True},
                },
            },
        )

    contact = make_contact(queue)

    contact.refresh_from_db()
    assert contact.priority == 7
    assert contact.preferred_agent == agent
    assert contact.cad == {"tier": "silver", "from1": True, "from2": True}
    second = Delivery.objects.get(integration__name="steer 2")
    assert second.applied["set"] == {"preferredAgent": {"id": agent.pk, "name": "Bob"}}


def test_echo_sets_from_what_an_earlier_integration_saved(
    https_sink: HttpsSink, queue: Queue
) -> None:
    https_sink.default = SinkAnswer(body={"tier": "gold"})
    make_integration(
        "fetch",
        queues=[queue],
        endpoint_url=https_sink.url,
        events=["received"],
        ordinal=1,
        configuration={
            "request": {"method": "GET", "block": True},
            "response": {"save": {"tier": "{response.body.tier}"}},
        },
    )
    make_integration(
        "gold first",
        queues=[queue],
        endpoint_url="edi://echo",
        events=["received"],
        ordinal=2,
        configuration={
            "request": {"method": "GET", "condition": 'contact.cad.tier == "gold"'},
            "response": {"set": {"priority": 1}},
        },
    )

    contact = make_contact(queue)

    contact.refresh_from_db()
    assert contact.cad == {"tier": "gold"}
    assert contact.priority == 1
    echo = Delivery.objects.get(integration__name="gold first")
    assert echo.status == "succeeded" and echo.status_code == 200


def test_required_agents_with_expiry(https_sink: HttpsSink, queue: Queue) -> None:
    first = make_agent(number="3001", queues=[queue])
    second = make_agent(number="3002", queues=[queue])
    https_sink.default = SinkAnswer(body={"agents": ["3001", "3002"]})
    make_integration(
        queues=[queue],
        endpoint_url=https_sink.url,
        events=["received"],
        configuration={
            "request": {"method": "GET"},
            "response": {
                "set": {"requiredAgents": {"agents": "{response.body.agents}", "timeout": 60}}
            },
        },
    )

    contact = make_contact(queue)

    contact.refresh_from_db()
    assert set(contact.required_agents.all()) == {first, second}
    assert contact.required_agents_expiry is not None
    queued = contact.events.get(event="queued")
    assert {a["number"] for a in queued.snapshot["required_agents"]} == {"3001", "3002"}


# -- Secrets


def test_no_secret_appears_in_any_delivery_record(https_sink: HttpsSink, queue: Queue) -> None:
    second = make_queue("Second")
    listener(https_sink, [queue, second])
    listener(
        https_sink,
        [queue, second],
        configuration={
            "request": {
                "method": "POST",
                "headers": {"x-api-key": "{authentications.api-key}"},
                "params": {"key": "{authentications.api-key}"},
                "body": {"key": "{authentications.api-key}", "note": "k={authentications.api-key}"},
            }
        },
        authentications={"api-key": API_KEY},
    )
    walk_through_every_event(queue, second)
    run_ready_tasks()

    assert https_sink.requests[1].query == {"key": API_KEY}  # it was really sent
    dump = json.dumps(
        list(Delivery.objects.values()), default=str, ensure_ascii=False
    ) + json.dumps(list(Contact.objects.values("cad")))
    assert Delivery.objects.count() == 26
    assert API_KEY not in dump
    assert BASIC_SECRET not in dump
    assert "********" in dump
