"""Admin pages of event-driven integrations, through Django's test client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.models import Integration
from integrations.services import integration_disable
from queues.models import Queue
from tests.factories import make_integration, make_queue

pytestmark = pytest.mark.django_db

ADD = "/admin/integrations/integration/add/"
LIST = "/admin/integrations/integration/"
LISTENER = {
    "request": {
        "method": "POST",
        "headers": {"x-api-key": "{authentications.api-key}"},
        "body": {"event": "{event}", "contact": "{contact}"},
    }
}


def _form(queue: Queue, configuration: str | None = None, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel_type": "chat",
        "name": "Lifecycle listener",
        "description": "",
        "endpoint_url": "https://hooks.example.com/events/{event}",
        "ordinal": "1",
        "direction": "inbound",
        "events": ["queued", "ended"],
        "direct_chats": "on",
        "queues": [str(queue.pk)],
        "configuration": configuration if configuration is not None else json.dumps(LISTENER),
        "authentications-TOTAL_FORMS": "1",
        "authentications-INITIAL_FORMS": "0",
        "authentications-MIN_NUM_FORMS": "0",
        "authentications-MAX_NUM_FORMS": "1000",
        "authentications-0-authentication_id": "api-key",
        "authentications-0-secret": "key-secret-1",
    }
    data.update(changes)
    return data


def test_adding_asks_for_the_channel_type_first(admin_client_: Client) -> None:
    page = admin_client_.get(ADD).content.decode()
    for value in ("phone", "chat", "email", "multi"):
        assert f'href="?channel_type={value}"' in page
    form = admin_client_.get(ADD, {"channel_type": "chat"}).content.decode()
    assert 'name="configuration"' in form
    assert '<option value="chat" selected>' in form
    assert 'id="integration-presets"' in form
    assert "Events each conversation type produces" in form


def test_saves_an_integration_with_its_authentication(admin_client_: Client, queue: Queue) -> None:
    response = admin_client_.post(ADD, _form(queue), follow=True)

    assert response.status_code == 200
    integration = Integration.objects.get()
    assert integration.events == ["queued", "ended"]
    assert list(integration.queues.all()) == [queue]
    [entry] = integration.authentications.all()
    assert entry.type == "header" and entry.secret.reveal() == "key-secret-1"
    page = admin_client_.get(f"{LIST}{integration.pk}/change/").content.decode()
    assert "key-secret-1" not in page
    # Stored JSON comes back pretty-printed.
    assert "{\n  &quot;request&quot;: {\n    &quot;method&quot;: &quot;POST&quot;" in page


def test_a_typo_is_shown_at_its_path_and_the_text_is_kept(
    admin_client_: Client, queue: Queue
) -> None:
    typed = '{"request": {"method": "POST", "body": {"n": "{contact.prioriy}"}}}'
    response = admin_client_.post(ADD, _form(queue, configuration=typed))

    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "request.body.n: unknown placeholder {contact.prioriy}; did you mean {contact.priority}?"
        in page
    )
    assert "{&quot;request&quot;: {&quot;method&quot;: &quot;POST&quot;, &quot;body&quot;" in page
    assert not Integration.objects.exists()


def test_invalid_json_says_where(admin_client_: Client, queue: Queue) -> None:
    response = admin_client_.post(ADD, _form(queue, configuration='{"request": {"method" "POST"}}'))
    page = response.content.decode()
    assert "Not valid JSON: line 1, column 23: Expecting &#x27;:&#x27; delimiter." in page
    assert "{&quot;request&quot;: {&quot;method&quot; &quot;POST&quot;}}" in page


def test_the_configuration_sees_the_authentications_entered_beside_it(
    admin_client_: Client, queue: Queue
) -> None:
    response = admin_client_.post(
        ADD, _form(queue, **{"authentications-0-authentication_id": "api-kye"})
    )
    assert (
        "request.headers.x-api-key: unknown authentication &quot;api-key&quot;; "
        "defined: api-kye" in response.content.decode()
    )


def test_entry_errors_are_shown_on_the_entry(admin_client_: Client, queue: Queue) -> None:
    response = admin_client_.post(ADD, _form(queue, **{"authentications-0-secret": ""}))
    assert "Enter the secret: a new entry has none stored yet." in response.content.decode()
    assert not Integration.objects.exists()


def test_queues_of_another_channel_type_are_refused(admin_client_: Client, queue: Queue) -> None:
    hotline = make_queue("Hotline", ["+3581234"], channel_type="phone")
    response = admin_client_.post(ADD, _form(queue, queues=[str(queue.pk), str(hotline.pk)]))
    assert (
        "Queue “Hotline” is a phone queue; a Chat integration takes chat queues."
        in response.content.decode()
    )


def test_list_shows_events_scope_state_and_warnings(
    admin_client_: Client, queue: Queue, django_assert_max_num_queries: Any
) -> None:
    for n in range(1, 5):
        make_integration(f"Hook {n}", queues=[queue], ordinal=n, events=["ended"])
    disabled = make_integration("Quiet", direct_chats=True, events=["queued"])
    integration_disable(integration=disabled)

    with django_assert_max_num_queries(14):
        page = admin_client_.get(LIST).content.decode()

    assert '<td class="field-event_list">Queued</td>' in page  # kept while disabled
    assert '<td class="field-state">disabled</td>' in page
    assert "direct chats" in page
    assert "Ended, queue “Support” (chats in): 4 integrations apply" in page
    assert "this one does not fire." in page


def test_copy_and_disable_buttons(admin_client_: Client, queue: Queue) -> None:
    integration = make_integration(
        "Listener", queues=[queue], configuration=LISTENER, authentications={"api-key": "k1"}
    )
    page = admin_client_.get(f"{LIST}{integration.pk}/change/").content.decode()
    assert f'action="{LIST}{integration.pk}/copy/"' in page
    assert f'action="{LIST}{integration.pk}/disable/"' in page

    response = admin_client_.post(f"{LIST}{integration.pk}/copy/", follow=True)
    copy = Integration.objects.get(name="Listener (copy)")
    assert response.redirect_chain[-1][0] == f"{LIST}{copy.pk}/change/"
    page = response.content.decode()
    assert "without authentications and disabled" in page
    assert "unknown authentication &quot;api-key&quot;; defined: none" in page
    assert not copy.authentications.exists()

    admin_client_.post(f"{LIST}{integration.pk}/disable/")
    integration.refresh_from_db()
    assert integration.events == ["ended"] and not integration.enabled
    page = admin_client_.get(f"{LIST}{integration.pk}/change/").content.decode()
    assert f'action="{LIST}{integration.pk}/enable/"' in page
    assert f'action="{LIST}{integration.pk}/resume/"' not in page  # not paused
    admin_client_.post(f"{LIST}{integration.pk}/enable/")
    integration.refresh_from_db()
    assert integration.events == ["ended"] and integration.enabled
    assert admin_client_.get(f"{LIST}{integration.pk}/copy/").status_code == 405


def test_list_actions(admin_client_: Client, queue: Queue) -> None:
    first = make_integration("One", queues=[queue], events=["queued"])
    second = make_integration("Two", queues=[queue], events=["ended"])
    ids = [str(first.pk), str(second.pk)]
    admin_client_.post(LIST, {"action": "disable_selected", "_selected_action": ids})
    assert not any(i.enabled for i in Integration.objects.all())
    admin_client_.post(LIST, {"action": "enable_selected", "_selected_action": ids})
    assert {i.name: (i.events, i.enabled) for i in Integration.objects.all()} == {
        "One": (["queued"], True),
        "Two": (["ended"], True),
    }
    Integration.objects.filter(pk=first.pk).update(paused_at=timezone.now(), paused_reason="x")
    admin_client_.post(LIST, {"action": "resume_selected", "_selected_action": ids}, follow=True)
    assert not Integration.objects.filter(paused_at__isnull=False).exists()
    admin_client_.post(LIST, {"action": "copy_selected", "_selected_action": ids})
    assert Integration.objects.filter(name__endswith="(copy)").count() == 2


def test_saving_an_existing_entry_without_secret_keeps_it(
    admin_client_: Client, queue: Queue
) -> None:
    integration = make_integration(
        "Listener", queues=[queue], configuration=LISTENER, authentications={"api-key": "k1"}
    )
    entry = integration.authentications.get()
    data = _form(
        queue,
        name="Listener",
        **{
            "authentications-INITIAL_FORMS": "1",
            "authentications-0-id": str(entry.pk),
            "authentications-0-integration": str(integration.pk),
            "authentications-0-secret": "",
        },
    )
    response = admin_client_.post(f"{LIST}{integration.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    entry.refresh_from_db()
    assert entry.secret.reveal() == "k1"


def test_a_changed_id_without_its_secret_is_an_error_on_its_row(
    admin_client_: Client, queue: Queue
) -> None:
    integration = make_integration(
        "Listener", queues=[queue], configuration=LISTENER, authentications={"api-key": "k1"}
    )
    entry = integration.authentications.get()
    renamed = {"request": {"method": "POST", "headers": {"x-api-key": "{authentications.key-2}"}}}
    data = _form(
        queue,
        configuration=json.dumps(renamed),
        name="Renamed",
        **{
            "authentications-INITIAL_FORMS": "1",
            "authentications-0-id": str(entry.pk),
            "authentications-0-integration": str(integration.pk),
            "authentications-0-authentication_id": "key-2",
            "authentications-0-secret": "",
        },
    )
    response = admin_client_.post(f"{LIST}{integration.pk}/change/", data)

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.forms[0].errors == {
        "secret": [
            "Enter the secret for the new authentication ID: the stored secret belongs to "
            "“api-key”."
        ]
    }
    integration.refresh_from_db()
    assert integration.name == "Listener"
    [kept] = integration.authentications.all()
    assert (kept.authentication_id, kept.secret.reveal()) == ("api-key", "k1")


def test_an_empty_echo_configuration_is_a_form_error(admin_client_: Client, queue: Queue) -> None:
    response = admin_client_.post(
        ADD,
        _form(
            queue,
            configuration="{}",
            endpoint_url="edi://echo",
            **{"authentications-TOTAL_FORMS": "0"},
        ),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["configuration"] == [
        "The configuration is empty: edi://echo answers with the contact's data; say what "
        'to do with it in "response" ("set" or "save").'
    ]
    empty = admin_client_.post(ADD, _form(queue, configuration=""))
    assert "The configuration is a JSON object" in str(
        empty.context["adminform"].form.errors["configuration"]
    )
    assert not Integration.objects.exists()


def test_a_paused_integration_shows_resume_and_its_state(
    admin_client_: Client, queue: Queue
) -> None:
    integration = make_integration("Sync", queues=[queue], events=["ended"])
    Integration.objects.filter(pk=integration.pk).update(paused_at=timezone.now())

    page = admin_client_.get(f"{LIST}{integration.pk}/change/").content.decode()
    assert f'action="{LIST}{integration.pk}/resume/"' in page
    assert f'action="{LIST}{integration.pk}/disable/"' in page
    assert (
        '<td class="field-state">enabled, paused</td>' in admin_client_.get(LIST).content.decode()
    )

    answer = admin_client_.post(f"{LIST}{integration.pk}/resume/", follow=True)

    assert "“Sync” resumed: the pause is lifted" in answer.content.decode()
    integration.refresh_from_db()
    assert integration.fires
    assert admin_client_.get(f"{LIST}{integration.pk}/resume/").status_code == 405


def test_the_test_page_says_when_the_integration_would_fire_on_nothing(
    admin_client_: Client, queue: Queue
) -> None:
    integration = make_integration(queues=[queue], events=["queued"])
    url = reverse("admin:integrations_integration_test", args=[integration.pk])
    assert "fires on no event" not in admin_client_.get(url).content.decode()

    Integration.objects.filter(pk=integration.pk).update(paused_at=timezone.now())
    assert "is paused after failures" in admin_client_.get(url).content.decode()

    integration_disable(integration=integration)
    assert "This integration is disabled" in admin_client_.get(url).content.decode()
