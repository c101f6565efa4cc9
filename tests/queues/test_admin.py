"""Admin pages of the queues app, through Django's test client."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from messaging.models import MessagingService
from queues.models import Queue
from tests.factories import make_contact, make_queue

pytestmark = pytest.mark.django_db


def _form(**changes: str) -> dict[str, str]:
    data = {
        "name": "Support",
        "description": "",
        "channel_type": "chat",
        "default_priority": "100",
        "addresses": "01E4556565565ERKYO@whatsapp",
        "sms_sender_id": "",
        "max_waiting_time": "",
        "overflow_queue": "",
    }
    data.update(changes)
    return data


@pytest.mark.usefixtures("service")
def test_adds_a_queue_in_long_form_and_says_so_for_lower_case(admin_client_: Client) -> None:
    response = admin_client_.post(
        "/admin/queues/queue/add/",
        _form(
            addresses="01e4556565565erkyo@whatsapp\n01E4556565565ERKYO@sms.sinchconversation.com"
        ),
        follow=True,
    )
    assert response.status_code == 200
    queue = Queue.objects.get()
    assert sorted(queue.addresses.values_list("address", flat=True)) == [
        "01E4556565565ERKYO@sms.sinchconversation.com",
        "01E4556565565ERKYO@whatsapp.sinchconversation.com",
    ]
    assert "App IDs are upper-case in Sinch" in response.content.decode()


@pytest.mark.usefixtures("service")
def test_form_names_the_line_of_a_bad_address_and_keeps_the_text(admin_client_: Client) -> None:
    text = "01E4556565565ERKYO@whatsapp\n01E4556565565ERKYO@pigeon"
    response = admin_client_.post("/admin/queues/queue/add/", _form(addresses=text))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Line 2: Unknown subchannel “pigeon”" in html
    assert "01E4556565565ERKYO@pigeon" in html
    assert not Queue.objects.exists()


def test_form_refuses_an_app_no_messaging_service_holds(admin_client_: Client) -> None:
    response = admin_client_.post("/admin/queues/queue/add/", _form(addresses="01NOBODY@whatsapp"))
    assert "App 01NOBODY has no outbound authentication" in response.content.decode()
    assert not Queue.objects.exists()


def test_form_asks_for_an_sms_sender_id_on_a_us_service(admin_client_: Client) -> None:
    from tests.factories import make_service

    make_service(
        app_id="01USAPP",
        service_connection="https://us.conversation.api.sinch.com/v1/projects/p1/messages:send",
    )
    response = admin_client_.post("/admin/queues/queue/add/", _form(addresses="01USAPP@sms"))
    assert "needs an SMS sender ID" in response.content.decode()
    response = admin_client_.post(
        "/admin/queues/queue/add/", _form(addresses="01USAPP@sms", sms_sender_id="+12025550123")
    )
    assert response.status_code == 302
    assert Queue.objects.get().sms_sender_id == "+12025550123"


def test_change_form_shows_addresses_and_overflow_rules(
    admin_client_: Client, service: MessagingService
) -> None:
    queue = make_queue("Support", ["01E4556565565ERKYO@whatsapp"])
    page = admin_client_.get(f"/admin/queues/queue/{queue.pk}/change/").content.decode()
    assert "01E4556565565ERKYO@whatsapp.sinchconversation.com" in page
    response = admin_client_.post(
        f"/admin/queues/queue/{queue.pk}/change/",
        _form(addresses="01E4556565565ERKYO@whatsapp", max_waiting_time="00:02:00"),
    )
    assert "Overflow needs both a maximum waiting time and an overflow queue." in (
        response.content.decode()
    )


def test_changelist_shows_waiting_figures_with_a_fixed_number_of_queries(
    admin_client_: Client, service: MessagingService, django_assert_max_num_queries: Any
) -> None:
    support = make_queue("Support", ["01E4556565565ERKYO@whatsapp"])
    for n in range(3):
        make_queue(f"Other {n}", [f"01E4556565565ERKYO@{['sms', 'rcs', 'line'][n]}"])
    for n in range(4):
        make_contact(support, identity=f"4670000000{n}")
    overflow = make_queue("Overflow", ["01E4556565565ERKYO@telegram"])
    support.max_waiting_time = timedelta(minutes=2)
    support.overflow_queue = overflow
    support.save()
    with django_assert_max_num_queries(10):
        response = admin_client_.get("/admin/queues/queue/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<td class="field-waiting">4</td>' in html
    assert "→ Overflow after 2 min" in html


def test_a_queue_with_open_conversations_cannot_be_deleted(
    admin_client_: Client, queue: Queue
) -> None:
    contact = make_contact(queue)
    response = admin_client_.get(f"/admin/queues/queue/{queue.pk}/delete/", follow=True)
    assert "1 open conversation(s) are in queue Support" in response.content.decode()
    assert Queue.objects.filter(pk=queue.pk).exists()
    contact.ended_at = contact.created
    contact.save()
    response = admin_client_.post(f"/admin/queues/queue/{queue.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Queue.objects.filter(pk=queue.pk).exists()


def test_api_refuses_to_delete_an_overflow_target_with_409(
    api: Any, service: MessagingService
) -> None:
    target = make_queue("Overflow", ["01E4556565565ERKYO@sms"])
    make_queue(
        "Support",
        ["01E4556565565ERKYO@whatsapp"],
        max_waiting_time=timedelta(minutes=1),
        overflow_queue=target,
    )
    response = api.delete(f"/api/v1/queues/{target.pk}/")
    assert response.status_code == 409
    assert "Support overflow into Overflow" in response.json()["detail"]


def test_a_queue_whose_app_lost_its_credentials_can_still_be_edited(
    admin_client_: Client, queue: Queue, service: MessagingService
) -> None:
    service.authentications.filter(direction="outbound").delete()
    response = admin_client_.post(
        f"/admin/queues/queue/{queue.pk}/change/",
        _form(addresses="01E4556565565ERKYO@whatsapp", description="Now described"),
        follow=True,
    )
    assert "replies to conversations on 01E4556565565ERKYO@whatsapp" in response.content.decode()
    queue.refresh_from_db()
    assert queue.description == "Now described"
    response = admin_client_.post(
        f"/admin/queues/queue/{queue.pk}/change/",
        _form(addresses="01E4556565565ERKYO@whatsapp\n01E4556565565ERKYO@sms"),
    )
    assert "App 01E4556565565ERKYO has no outbound authentication" in response.content.decode()


def test_the_form_says_which_sinch_channel_each_subchannel_receives(
    admin_client_: Client, api: Any
) -> None:
    html = admin_client_.get("/admin/queues/queue/add/").content.decode()
    table = html[html.index('<table class="subchannels" id="subchannel-channels">') :]
    table = table[: table.index("</table>")]
    assert "<th>Sinch channel it receives</th>" in table
    for address, label, channel in [
        ("viber-bot", "Viber Bot", "VIBER"),
        ("viber", "Viber", "VIBERBM"),
        ("nativechannel", "Sinch Chat", "SINCH_CHAT"),
        ("facebook", "Messenger", "MESSENGER"),
        ("whatsapp", "WhatsApp", "WHATSAPP"),
    ]:
        row = (
            f'<tr><td class="mono">APPID@{address}</td><td>{label}</td>'
            f'<td class="mono">{channel}</td></tr>'
        )
        assert row in table
    assert table.count("<tr>") == 11  # the head and one row per subchannel

    schema = api.get("/api/schema/", {"format": "json"}).json()
    addresses = schema["components"]["schemas"]["Queue"]["properties"]["addresses"]
    assert "viber-bot ← VIBER, instagram ← INSTAGRAM, viber ← VIBERBM" in addresses["description"]
