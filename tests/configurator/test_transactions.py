"""No network call inside a transaction the project opened: every sending path refuses.

Each path that leaves the process (integration calls, blocking and background, test runs,
OAuth tokens, Sinch replies and their tokens) is driven inside `transaction.atomic()` and must
raise TransactionOpenError before anything is sent; outside one, the same paths send (their own
tests show that).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from configurator.http_tokens import ClientCredentials
from configurator.transactions import TransactionOpenError, in_project_transaction
from conversations import messages as conversation_messages
from conversations import services as conversation_services
from conversations.models import Contact, ContactEvent
from integrations import dispatch, runtime
from integrations.models import Delivery, Integration
from integrations.testrun import integration_test_run
from integrations.transport import integration_tokens, send
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_integration
from tests.fakesinch import FakeSinch
from tests.httpsink import HttpsSink

pytestmark = pytest.mark.django_db


def _integration(sink: HttpsSink, queue: Queue, events: list[str], **request: Any) -> Integration:
    return make_integration(
        queues=[queue],
        endpoint_url=f"{sink.url}/hook",
        events=events,
        configuration={"request": {"method": "POST", "body": {"e": "{event}"}, **request}},
    )


def _refused(call: Callable[[], object]) -> None:
    with (
        pytest.raises(TransactionOpenError, match="inside a database transaction"),
        transaction.atomic(),
    ):
        call()


def test_the_test_runners_own_transaction_is_not_the_projects() -> None:
    assert not in_project_transaction()
    with transaction.atomic():
        assert in_project_transaction()


def test_transport_send_refuses(https_sink: HttpsSink) -> None:
    _refused(
        lambda: send(method="GET", url=f"{https_sink.url}/x", headers={}, params={}, timeout=1)
    )
    assert https_sink.requests == []


def test_oauth_token_fetch_refuses(https_sink: HttpsSink) -> None:
    _refused(
        lambda: integration_tokens.bearer(
            ClientCredentials(token_url=f"{https_sink.url}/token", client_id="c", secret="s"),
            timeout=1,
        )
    )
    assert https_sink.requests == []


def test_blocking_integrations_refuse(https_sink: HttpsSink, queue: Queue) -> None:
    integration = _integration(https_sink, queue, ["ended"], block=True)
    contact = make_contact(queue)
    entry = ContactEvent.objects.filter(contact=contact).latest("id")
    _refused(
        lambda: runtime.blocking_run(
            contact.pk, entry, dict(entry.snapshot), [integration], channel_type="chat"
        )
    )
    assert https_sink.requests == []


def test_background_deliveries_refuse(https_sink: HttpsSink, queue: Queue) -> None:
    _integration(https_sink, queue, ["queued"])
    make_contact(queue)
    delivery = Delivery.objects.get()
    _refused(lambda: dispatch.deliveries_send([delivery.pk]))
    assert https_sink.requests == []


def test_live_test_runs_refuse(https_sink: HttpsSink, queue: Queue) -> None:
    integration = _integration(https_sink, queue, ["ended"])
    _refused(
        lambda: integration_test_run(
            integration=integration, event="ended", contact=None, live=True, user=None
        )
    )
    assert https_sink.requests == []


def test_sinch_replies_and_their_tokens_refuse(fake_sinch: FakeSinch, contact: Contact) -> None:
    _refused(lambda: conversation_messages.contact_reply(contact=contact, text="Hello"))
    assert fake_sinch.sends == []


@pytest.fixture
def contact(queue: Queue) -> Contact:
    return make_contact(queue)


@pytest.mark.django_db(transaction=True)
def test_an_action_inside_a_callers_transaction_calls_out_after_its_commit(
    https_sink: HttpsSink, queue: Queue
) -> None:
    _integration(https_sink, queue, ["allocated"], block=True)
    contact = make_contact(queue)
    with transaction.atomic():
        conversation_services.contact_allocate(contact=contact, agent=make_agent())
        assert https_sink.requests == []  # not while the caller's transaction is open
    https_sink.wait_for(1)
    assert Delivery.objects.get().status == "succeeded"
