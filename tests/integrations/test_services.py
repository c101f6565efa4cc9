"""Copy, disable and enable, and the list's warnings about too many integrations per event."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from integrations import selectors, services
from integrations.credentials import authentications_replace
from integrations.models import Integration, IntegrationAuthentication
from integrations.validation import CleanAuthentication
from queues.models import Queue
from tests.factories import make_integration, make_queue

pytestmark = pytest.mark.django_db

LISTENER = {
    "request": {
        "authentication": {"type": "basic"},
        "method": "POST",
        "headers": {"x-api-key": "{authentications.api-key}"},
        "body": {"event": "{event}", "contact": "{contact}"},
    }
}


def _listener(queue: Queue) -> Integration:
    return make_integration(
        "Lifecycle listener",
        queues=[queue],
        direct_chats=True,
        events=["queued", "ended"],
        configuration=LISTENER,
        authentications={"basic:contactpro": "basic-pw-1", "api-key": "key-secret-1"},
    )


def test_copy_has_everything_but_the_authentications(queue: Queue) -> None:
    original = _listener(queue)

    copy = services.integration_copy(integration=original)

    assert copy.name == "Lifecycle listener (copy)"
    assert copy.configuration == LISTENER
    assert list(copy.queues.all()) == [queue]
    assert copy.direct_chats and copy.direction == original.direction
    assert copy.endpoint_url == original.endpoint_url
    # Disabled with the original's events, so that it does not fire uncredentialed.
    assert copy.events == ["queued", "ended"] and not copy.enabled
    assert not IntegrationAuthentication.objects.filter(integration=copy).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM integrations_integrationauthentication WHERE integration_id = %s",
            [copy.pk],
        )
        assert cursor.fetchone()[0] == 0
    assert selectors.integration_problems(copy) == [
        'request.authentication.type: "basic" needs an authentication basic:<username>; '
        "defined: none",
        'request.headers.x-api-key: unknown authentication "api-key"; defined: none',
    ]


def test_copies_are_numbered_when_the_name_is_taken(queue: Queue) -> None:
    original = _listener(queue)
    names = [services.integration_copy(integration=original).name for _ in range(3)]
    assert names == [
        "Lifecycle listener (copy)",
        "Lifecycle listener (copy 2)",
        "Lifecycle listener (copy 3)",
    ]


def test_disable_keeps_the_events_and_enable_lets_them_fire_again(queue: Queue) -> None:
    integration = _listener(queue)
    triggers = set(integration.triggers.values_list("event", "queue_id"))

    assert services.integration_disable(integration=integration) is True
    integration.refresh_from_db()
    assert integration.events == ["queued", "ended"] and not integration.enabled
    assert not integration.fires
    assert services.integration_disable(integration=integration) is False

    assert services.integration_enable(integration=integration) is True
    integration.refresh_from_db()
    assert integration.events == ["queued", "ended"] and integration.fires
    assert services.integration_enable(integration=integration) is False
    # The trigger rows describe the configuration: switching leaves them as they were.
    assert set(integration.triggers.values_list("event", "queue_id")) == triggers


def test_saving_with_no_event_disables_and_enable_is_refused_until_events_are_chosen(
    queue: Queue,
) -> None:
    integration = _listener(queue)
    integration.events = []
    services.integration_save(integration=integration)
    integration.refresh_from_db()
    assert integration.events == [] and not integration.enabled
    assert not integration.triggers.exists()
    with pytest.raises(ValidationError, match="has no events"):
        services.integration_enable(integration=integration)

    integration.events = ["ended"]
    services.integration_save(integration=integration)
    integration.refresh_from_db()
    assert not integration.enabled  # choosing events does not enable it; Enable does
    assert services.integration_enable(integration=integration) is True


def test_resume_lifts_a_pause_and_leaves_enabled_alone(queue: Queue) -> None:
    integration = _listener(queue)
    assert services.integration_resume(integration=integration) is False
    services.integration_disable(integration=integration)
    Integration.objects.filter(pk=integration.pk).update(
        paused_at=timezone.now(), paused_reason="failed", consecutive_failures=20
    )
    integration.refresh_from_db()

    assert services.integration_resume(integration=integration) is True
    integration.refresh_from_db()
    assert (integration.paused_at, integration.paused_reason) == (None, "")
    assert integration.consecutive_failures == 0 and not integration.enabled
    assert services.integration_resume(integration=integration) is False


def test_enable_of_an_enabled_integration_lifts_its_pause(queue: Queue) -> None:
    integration = _listener(queue)
    Integration.objects.filter(pk=integration.pk).update(paused_at=timezone.now())
    integration.refresh_from_db()
    assert integration.enabled and not integration.fires

    assert services.integration_enable(integration=integration) is True
    integration.refresh_from_db()
    assert integration.fires


def test_a_copy_is_enabled_only_once_its_authentications_are_added(queue: Queue) -> None:
    copy = services.integration_copy(integration=_listener(queue))
    with pytest.raises(ValidationError) as refused:
        services.integration_enable(integration=copy)
    assert "cannot be enabled yet" in refused.value.messages[0]
    copy.refresh_from_db()
    assert not copy.enabled

    authentications_replace(
        integration=copy,
        entries=[
            CleanAuthentication("basic:contactpro", "other-pw"),
            CleanAuthentication("api-key", "other-key"),
        ],
    )
    assert services.integration_enable(integration=copy) is True


def test_enable_without_events_says_what_to_do(queue: Queue) -> None:
    integration = make_integration(queues=[queue], events=[])
    with pytest.raises(ValidationError, match="has no events: choose its events"):
        services.integration_enable(integration=integration)


def test_an_entry_without_a_secret_keeps_the_stored_one(queue: Queue) -> None:
    integration = _listener(queue)
    authentications_replace(
        integration=integration,
        entries=[
            CleanAuthentication("basic:contactpro", None),
            CleanAuthentication("api-key", "rotated-key"),
        ],
    )
    stored = {a.authentication_id: a.secret.reveal() for a in integration.authentications.all()}
    assert stored == {"basic:contactpro": "basic-pw-1", "api-key": "rotated-key"}


@override_settings(INTEGRATIONS_MAX_PER_EVENT=3)
def test_warns_where_more_than_three_fire_on_one_event_of_one_queue(queue: Queue) -> None:
    other = make_queue("Sales", ["01E4556565565ERKYO@sms"])
    integrations = [
        make_integration(f"Hook {n}", queues=[queue], ordinal=n, events=["ended"])
        for n in (1, 2, 3, 4)
    ]
    make_integration("Elsewhere", queues=[other], events=["ended"])
    make_integration("Outbound only", queues=[queue], direction="outbound", events=["ended"])

    warnings = selectors.firing_warnings(selectors.integration_list())

    assert set(warnings) == {i.pk for i in integrations}
    assert warnings[integrations[0].pk] == [
        "Ended, queue “Support” (chats in): 4 integrations apply, only the first 3 by ordinal "
        "fire; this one fires."
    ]
    assert warnings[integrations[3].pk][0].endswith("this one does not fire.")
    services.integration_disable(integration=integrations[3])
    assert selectors.firing_warnings(selectors.integration_list()) == {}


def test_the_configuration_keeps_the_order_it_was_written_in(queue: Queue) -> None:
    configuration = {
        "request": {
            "method": "POST",
            "headers": {"x-b": "1", "x-a": "2"},
            "body": {"Event name": "{event.name}", "ID": "{contact.id}", "CAD": "{contact.cad}"},
        }
    }
    integration = make_integration(queues=[queue], configuration=configuration)
    stored = Integration.objects.get(pk=integration.pk).configuration
    assert list(stored["request"]) == ["method", "headers", "body"]
    assert list(stored["request"]["headers"]) == ["x-b", "x-a"]
    assert list(stored["request"]["body"]) == ["Event name", "ID", "CAD"]
