"""Admin pages of the conversations app, through Django's test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils.text import capfirst

from conversations import lifecycle
from conversations.models import Contact, Message
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_queue
from tests.fakesinch import FakeSinch, sinch_error

pytestmark = pytest.mark.django_db


def _act(client: Client, contact: Contact, event: str, **data: str) -> str:
    response = client.post(
        f"/admin/conversations/contact/{contact.pk}/act/{event}/", data, follow=True
    )
    assert response.status_code == 200
    return response.content.decode()


def test_contact_changelist_runs_a_fixed_number_of_queries(
    admin_client_: Client, queue: Queue, django_assert_max_num_queries: Any
) -> None:
    agent = make_agent("Anna")
    for n in range(10):
        contact = make_contact(queue, identity=f"4670000{n:04d}")
        if n % 2:
            _act(admin_client_, contact, "allocated", agent=str(agent.pk))
    with django_assert_max_num_queries(12):
        response = admin_client_.get("/admin/conversations/contact/")
    html = response.content.decode()
    assert html.count("Allocated") >= 5
    assert html.count("Queued") >= 5


def test_agent_changelist_runs_a_fixed_number_of_queries(
    admin_client_: Client, queue: Queue, django_assert_max_num_queries: Any
) -> None:
    for n in range(10):
        make_agent(f"Agent {n}", queues=[queue])
    with django_assert_max_num_queries(10):
        response = admin_client_.get("/admin/conversations/agent/")
    assert response.content.decode().count("Support") >= 10


def test_operator_walks_a_conversation_through_its_lifecycle(
    admin_client_: Client, queue: Queue
) -> None:
    contact = make_contact(queue)
    anna, ben = make_agent("Anna"), make_agent("Ben")
    other = make_queue("Sales", ["01E4556565565ERKYO@sms"])
    html = admin_client_.get(f"/admin/conversations/contact/{contact.pk}/change/").content.decode()
    assert "waiting in queue Support" in html
    assert 'name="_save"' not in html  # contacts change through actions only
    assert "Allocated." in _act(admin_client_, contact, "allocated", agent=str(anna.pk))
    assert "Rejected." in _act(admin_client_, contact, "rejected")
    _act(admin_client_, contact, "allocated", agent=str(anna.pk))
    _act(admin_client_, contact, "accepted")
    assert "Transferred." in _act(admin_client_, contact, "transferred", agent=str(ben.pk))
    _act(admin_client_, contact, "accepted")
    assert "Transferred." in _act(admin_client_, contact, "transferred", queue=str(other.pk))
    contact.refresh_from_db()
    assert (contact.state, contact.queue, contact.transferring_agent) == ("transferred", other, ben)
    assert "Forwarded." in _act(admin_client_, contact, "forwarded", queue=str(queue.pk))
    assert "Abandoned." in _act(admin_client_, contact, "abandoned", confirmed="yes")
    events = list(contact.events.values_list("event", flat=True))
    assert events == [
        "received",
        "queued",
        "allocated",
        "rejected",
        "allocated",
        "accepted",
        "transferred",
        "accepted",
        "transferred",
        "forwarded",
        "abandoned",
    ]


def test_an_action_that_does_not_fit_says_why(admin_client_: Client, queue: Queue) -> None:
    contact = make_contact(queue)
    html = _act(admin_client_, contact, "ended", confirmed="yes")
    assert "cannot be ended" in html
    assert "waiting in queue Support" in html
    assert "Choose an agent." in _act(admin_client_, contact, "allocated", agent="nobody")
    contact.refresh_from_db()
    assert contact.state == "queued"


def test_actions_need_post_and_the_change_permission(queue: Queue) -> None:
    contact = make_contact(queue)
    viewer = User.objects.create_user("viewer", password="pw-12345678", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client = Client()
    client.force_login(viewer)
    page = client.get(f"/admin/conversations/contact/{contact.pk}/change/").content.decode()
    assert "Allocate" not in page
    assert (
        client.post(f"/admin/conversations/contact/{contact.pk}/act/abandoned/").status_code == 403
    )
    assert (
        client.get(f"/admin/conversations/contact/{contact.pk}/act/abandoned/").status_code == 405
    )
    contact.refresh_from_db()
    assert contact.state == "queued"


def test_actions_that_choose_an_agent_or_queue_need_their_view_permission(queue: Queue) -> None:
    """The pickers search agents and queues: a user who may change contacts but not view
    agents is told why Allocate is not offered, instead of a search that is refused."""
    contact = make_contact(queue)
    make_agent("Ann")
    operator = User.objects.create_user("operator", password="pw-12345678", is_staff=True)
    operator.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_contact", "change_contact"])
    )
    client = Client()
    client.force_login(operator)
    page = client.get(f"/admin/conversations/contact/{contact.pk}/change/").content.decode()
    assert 'class="act-allocated"' not in page
    assert "needs the permission to view agents and queues" in page
    assert 'class="act-abandoned"' in page


def test_reply_from_the_contact_page(
    admin_client_: Client, queue: Queue, fake_sinch: FakeSinch
) -> None:
    contact = make_contact(queue)
    response = admin_client_.post(
        f"/admin/conversations/contact/{contact.pk}/reply/", {"text": "On it!"}, follow=True
    )
    assert "Reply sent." in response.content.decode()
    assert Message.objects.filter(contact=contact, direction="outbound", text="On it!").exists()

    fake_sinch.script_send(400, sinch_error(400, "Recipient is not opted in", "INVALID_ARGUMENT"))
    response = admin_client_.post(
        f"/admin/conversations/contact/{contact.pk}/reply/", {"text": "Again"}, follow=True
    )
    html = response.content.decode()
    assert "Sinch answered 400 INVALID_ARGUMENT: Recipient is not opted in" in html
    assert not Message.objects.filter(text="Again").exists()


def test_an_agent_holding_a_conversation_cannot_be_deleted(
    admin_client_: Client, api: Any, queue: Queue
) -> None:
    agent = make_agent("Anna", number="1001")
    contact = make_contact(queue)
    _act(admin_client_, contact, "allocated", agent=str(agent.pk))
    response = admin_client_.get(f"/admin/conversations/agent/{agent.pk}/delete/", follow=True)
    assert "Anna (1001) holds 1 open conversation(s)" in response.content.decode()
    answer = api.delete(f"/api/v1/agents/{agent.pk}/")
    assert answer.status_code == 409
    assert "transfer or end them first" in answer.json()["detail"]
    _act(admin_client_, contact, "abandoned", confirmed="yes")
    response = admin_client_.post(f"/admin/conversations/agent/{agent.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert api.delete(f"/api/v1/agents/{make_agent('Ben').pk}/").status_code == 204


@pytest.mark.parametrize(("event", "verb"), [("ended", "End"), ("abandoned", "Abandon")])
def test_end_and_abandon_ask_first(
    admin_client_: Client, queue: Queue, event: str, verb: str
) -> None:
    contact = make_contact(queue)
    if event == "ended":
        _act(admin_client_, contact, "allocated", agent=str(make_agent("Anna").pk))
        _act(admin_client_, contact, "accepted")
    contact.refresh_from_db()
    state_before = contact.state
    url = f"/admin/conversations/contact/{contact.pk}/act/{event}/"

    asked = admin_client_.post(url).content.decode()
    contact.refresh_from_db()
    state_asked = contact.state

    assert f"<title>{verb} conversation {contact.pk}? |" in asked
    assert f"<p>{capfirst(lifecycle.describe(contact))}.</p>" in asked
    assert f'action="{url}"' in asked
    assert 'name="confirmed" value="yes"' in asked
    assert f'href="/admin/conversations/contact/{contact.pk}/change/" class="button' in asked
    assert state_asked == state_before
    done = _act(admin_client_, contact, event, confirmed="yes")
    assert f"{event.capitalize()}." in done
    contact.refresh_from_db()
    assert contact.state == event


def test_the_targets_of_an_action_are_searched_with_nothing_chosen(
    admin_client_: Client, queue: Queue
) -> None:
    contact = make_contact(queue)
    make_queue("Sales", ["01E4556565565ERKYO@sms"])
    anna = make_agent("Anna", queues=[queue])
    _act(admin_client_, contact, "allocated", agent=str(anna.pk))
    _act(admin_client_, contact, "accepted")

    html = admin_client_.get(f"/admin/conversations/contact/{contact.pk}/change/").content.decode()

    transfer = html.split('class="act-transferred"')[1].split("</form>")[0]
    assert transfer.count("<option") == 2  # the empty choice of each select, nothing else
    assert "selected" not in transfer
    assert 'data-placeholder="Search a queue…"' in transfer
    assert 'data-placeholder="Search an agent…"' in transfer
    assert f"/admin/autocomplete/?serving_queue={queue.pk}" in transfer


def test_agents_of_the_conversations_queue_are_offered_first(
    admin_client_: Client, queue: Queue
) -> None:
    other = make_queue("Sales", ["01E4556565565ERKYO@sms"])
    make_agent("Aaron", queues=[other])
    make_agent("Zoe", queues=[queue])
    make_agent("Anna", queues=[queue, other])
    make_agent("Bea")
    search: dict[str, str | int] = {
        "app_label": "conversations",
        "model_name": "contact",
        "field_name": "agent",
        "term": "",
    }

    grouped = admin_client_.get("/admin/autocomplete/", {**search, "serving_queue": queue.pk})
    plain = admin_client_.get("/admin/autocomplete/", search)
    odd = admin_client_.get("/admin/autocomplete/", {**search, "serving_queue": "9" * 40})

    groups = grouped.json()["results"]
    assert [g["text"] for g in groups] == ["Serving this conversation's queue", "Other agents"]
    assert [r["text"].split(" (")[0] for r in groups[0]["children"]] == ["Anna", "Zoe"]
    assert [r["text"].split(" (")[0] for r in groups[1]["children"]] == ["Aaron", "Bea"]
    assert [r["text"].split(" (")[0] for r in plain.json()["results"]] == [
        "Aaron",
        "Anna",
        "Bea",
        "Zoe",
    ]
    assert odd.status_code == 200 and "children" not in odd.content.decode()
