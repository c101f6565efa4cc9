"""Seed 000's rich-content rule: through the EU region, Messenger and WhatsApp get only images as
media; other media goes as a text message carrying its URL, and the agent is told."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from conversations import services
from conversations.gateways import OutgoingMessage, media_is_image
from conversations.models import Contact, Message
from conversations.services import InboundThread, IncomingMessage
from queues.choices import SUBCHANNEL_BY_SINCH_CHANNEL
from tests.factories import make_agent, make_queue, make_service
from tests.fakesinch import FakeSinch

pytestmark = pytest.mark.django_db

EU_APP = "01EUAPP0000000000000000001"
US_APP = "01USAPP0000000000000000001"
PROJECT = "e2df3a34-a71b-4448-9db5-a8d2baad28e4"
CONNECTION = "https://{region}.conversation.api.sinch.com/v1/projects/" + PROJECT + "/messages:send"

IMAGE = "https://cdn.example.com/media/photo.JPG?size=large"
AUDIO = "https://cdn.example.com/media/voice-note.ogg"
VIDEO = "https://cdn.example.com/media/clip.mp4"
DOCUMENT = "https://cdn.example.com/media/invoice.pdf"


@pytest.fixture
def regions(db: None) -> None:
    """One messaging service in the EU region and one in the US region."""
    make_service(service_connection=CONNECTION.format(region="eu"), app_id=EU_APP)
    make_service(service_connection=CONNECTION.format(region="us"), app_id=US_APP)


def chat_contact(app_id: str, sinch_channel: str) -> Contact:
    """An inbound contact of `app_id` on `sinch_channel`, queued as Sinch's message would be."""
    subchannel = SUBCHANNEL_BY_SINCH_CHANNEL[sinch_channel].name
    queue = make_queue(f"{app_id} {subchannel}", [f"{app_id}@{subchannel}"], sms_sender_id="Acme")
    address = queue.addresses.get()
    return services.inbound_message_receive(
        thread=InboundThread(
            queue=queue,
            address=address.address,
            app_id=app_id,
            sinch_channel=sinch_channel,
            channel_sub_type=subchannel,
            identity="46701234567",
            sinch_conversation_id=f"01CONV{app_id}{sinch_channel}",
        ),
        message=IncomingMessage(
            sinch_message_id=f"01IN{app_id}{sinch_channel}", kind="text", text="Hello"
        ),
    ).contact


def reply(api: APIClient, contact: Contact, **body: str) -> dict[str, Any]:
    response = api.post(f"/api/v1/contacts/{contact.pk}/messages/", body, format="json")
    assert response.status_code == 201, response.json()
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.usefixtures("regions")
@pytest.mark.parametrize("channel", ["WHATSAPP", "MESSENGER"])
@pytest.mark.parametrize("url", [AUDIO, VIDEO, DOCUMENT])
def test_eu_media_that_is_not_an_image_goes_as_a_text_link(
    api: APIClient, fake_sinch: FakeSinch, channel: str, url: str
) -> None:
    contact = chat_contact(EU_APP, channel)

    answer = reply(api, contact, media_url=url)

    [send] = fake_sinch.sends
    assert send.body["message"] == {"text_message": {"text": url}}
    assert send.body["recipient"]["identified_by"]["channel_identities"] == [
        {"channel": channel, "identity": "46701234567"}
    ]
    assert answer["sent_as"] == "text_link"
    assert answer["kind"] == "media"
    assert answer["media_url"] == url
    assert str(answer["notice"]).startswith(f"Sent as a link: {url}.")
    stored = Message.objects.get(pk=answer["id"])
    assert stored.content == {"text_message": {"text": url}}


@pytest.mark.usefixtures("regions")
@pytest.mark.parametrize("channel", ["WHATSAPP", "MESSENGER"])
def test_eu_image_goes_as_media(api: APIClient, fake_sinch: FakeSinch, channel: str) -> None:
    answer = reply(api, chat_contact(EU_APP, channel), media_url=IMAGE)

    assert fake_sinch.sends[0].body["message"] == {"media_message": {"url": IMAGE}}
    assert answer["sent_as"] == "media"
    assert answer["notice"] == ""


@pytest.mark.usefixtures("regions")
@pytest.mark.parametrize("channel", ["WHATSAPP", "MESSENGER", "TELEGRAM", "INSTAGRAM", "SMS"])
@pytest.mark.parametrize("url", [AUDIO, DOCUMENT])
def test_us_media_goes_as_media_on_every_channel(
    api: APIClient, fake_sinch: FakeSinch, channel: str, url: str
) -> None:
    answer = reply(api, chat_contact(US_APP, channel), media_url=url)

    assert fake_sinch.sends[0].body["message"] == {"media_message": {"url": url}}
    assert answer["sent_as"] == "media"


@pytest.mark.usefixtures("regions")
@pytest.mark.parametrize("channel", ["TELEGRAM", "INSTAGRAM", "VIBERBM", "SMS"])
def test_eu_media_to_other_channels_goes_as_media(
    api: APIClient, fake_sinch: FakeSinch, channel: str
) -> None:
    answer = reply(api, chat_contact(EU_APP, channel), media_url=VIDEO)

    assert fake_sinch.sends[0].body["message"] == {"media_message": {"url": VIDEO}}
    assert answer["sent_as"] == "media"


@pytest.mark.usefixtures("regions")
def test_the_setting_turns_the_rule_off(
    api: APIClient, fake_sinch: FakeSinch, settings: object
) -> None:
    settings.SINCH_EU_MEDIA_AS_TEXT = False  # type: ignore[attr-defined]

    answer = reply(api, chat_contact(EU_APP, "WHATSAPP"), media_url=AUDIO)

    assert fake_sinch.sends[0].body["message"] == {"media_message": {"url": AUDIO}}
    assert answer["sent_as"] == "media"
    assert answer["notice"] == ""


@pytest.mark.usefixtures("regions")
def test_a_content_type_decides_over_the_extension(api: APIClient, fake_sinch: FakeSinch) -> None:
    contact = chat_contact(EU_APP, "WHATSAPP")
    no_extension = "https://cdn.example.com/media/4f2a9c"

    as_image = reply(api, contact, media_url=no_extension, media_type="image/png")
    as_audio = reply(api, contact, media_url=IMAGE, media_type="audio/mpeg; rate=44100")
    unknown = reply(api, contact, media_url=no_extension)

    assert [s.body["message"] for s in fake_sinch.sends] == [
        {"media_message": {"url": no_extension}},
        {"text_message": {"text": IMAGE}},
        {"text_message": {"text": no_extension}},
    ]
    assert [a["sent_as"] for a in (as_image, as_audio, unknown)] == [
        "media",
        "text_link",
        "text_link",
    ]


@pytest.mark.usefixtures("regions")
def test_the_agents_text_comes_before_the_link(api: APIClient, fake_sinch: FakeSinch) -> None:
    answer = reply(api, chat_contact(EU_APP, "MESSENGER"), text="Your invoice:", media_url=DOCUMENT)

    assert fake_sinch.sends[0].body["message"] == {
        "text_message": {"text": f"Your invoice:\n{DOCUMENT}"}
    }
    assert answer["text"] == "Your invoice:"
    assert answer["sent_as"] == "text_link"


@pytest.mark.usefixtures("regions")
def test_text_replies_and_inbound_messages_say_how_they_went(
    api: APIClient, fake_sinch: FakeSinch
) -> None:
    contact = chat_contact(EU_APP, "WHATSAPP")
    assert reply(api, contact, text="Hi")["sent_as"] == "text"

    listed = api.get(f"/api/v1/contacts/{contact.pk}/messages/").json()["results"]
    assert [(m["direction"], m["sent_as"], m["notice"]) for m in listed] == [
        ("inbound", None, ""),
        ("outbound", "text", ""),
    ]


@pytest.mark.usefixtures("regions")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"media_url": "ftp://cdn.example.com/a.ogg"}, "media_url"),
        ({"media_url": "not a url"}, "media_url"),
        ({"media_url": "https://cdn.example.com/" + "a" * 2000 + ".ogg"}, "media_url"),
        ({"media_url": AUDIO, "media_type": "audio"}, "media_type"),
        ({"text": "Hi", "media_type": "audio/ogg"}, "media_type"),
    ],
)
def test_bad_media_is_400_by_field_and_nothing_is_sent(
    api: APIClient, fake_sinch: FakeSinch, body: dict[str, str], field: str
) -> None:
    contact = chat_contact(EU_APP, "WHATSAPP")
    response = api.post(f"/api/v1/contacts/{contact.pk}/messages/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert fake_sinch.sends == []


@pytest.mark.usefixtures("regions")
def test_the_reply_box_says_sent_as_a_link(admin_client_: Client, fake_sinch: FakeSinch) -> None:
    contact = chat_contact(EU_APP, "WHATSAPP")

    response = admin_client_.post(
        f"/admin/conversations/contact/{contact.pk}/reply/",
        {"text": "", "media_url": VIDEO},
        follow=True,
    )

    html = response.content.decode()
    assert f"Sent as a link: {VIDEO}." in html
    assert "Media, sent as a link" in html  # the message's row says it too
    assert fake_sinch.sends[0].body["message"] == {"text_message": {"text": VIDEO}}
    assert 'name="media_url"' in html


@pytest.mark.usefixtures("regions")
def test_the_reply_box_keeps_a_bad_media_url_beside_the_error(
    admin_client_: Client, fake_sinch: FakeSinch
) -> None:
    contact = chat_contact(EU_APP, "WHATSAPP")

    response = admin_client_.post(
        f"/admin/conversations/contact/{contact.pk}/reply/",
        {"text": "Here it is", "media_url": "cdn.example.com/clip.mp4"},
        follow=True,
    )

    html = response.content.decode()
    assert "Give the media&#x27;s http(s):// address." in html
    assert 'value="cdn.example.com/clip.mp4"' in html
    assert fake_sinch.sends == []


@pytest.mark.usefixtures("regions")
def test_simulated_replies_follow_the_rule_too(fake_sinch: FakeSinch) -> None:
    """The sandbox gateway builds the message with the same rule, so a simulation shows it."""
    from messaging.sinch.sandbox import SandboxGateway

    contact = chat_contact(EU_APP, "WHATSAPP")
    receipt = SandboxGateway().send(contact, OutgoingMessage(media_url=AUDIO))
    assert receipt.content == {"text_message": {"text": AUDIO}}
    assert fake_sinch.sends == []


@pytest.mark.parametrize(
    ("url", "media_type", "image"),
    [
        ("https://x.example/a.png", "", True),
        ("https://x.example/a.webp#frag", "", True),
        ("https://x.example/a.jpeg?download=a.mp3", "", True),
        ("https://x.example/a.mp3", "", False),
        ("https://x.example/a", "", False),
        ("https://x.example/a.mp3", "Image/JPEG", True),
        ("https://x.example/a.png", "video/mp4", False),
        ("https://[::1/a.png", "", False),
    ],
)
def test_media_is_an_image_by_content_type_else_extension(
    url: str, media_type: str, image: bool
) -> None:
    assert media_is_image(url=url, media_type=media_type) is image


def test_the_api_schema_documents_sent_as_and_notice(api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"]
    message = schema["schemas"]["Message"]["properties"]
    assert "text_link" in message["sent_as"]["description"]
    assert schema["schemas"]["SentAsEnum"]["enum"] == ["text", "media", "text_link", "other"]
    assert "Sent as a link" in message["notice"]["description"]
    assert "media_type" in schema["schemas"]["ReplyRequest"]["properties"]


@pytest.mark.usefixtures("regions")
def test_starting_a_chat_with_media_that_went_as_a_link_says_so(
    admin_client_: Client, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")

    response = admin_client_.post(
        "/admin/conversations/contact/start/",
        {
            "agent": agent.pk,
            "app_id": EU_APP,
            "channel": "MESSENGER",
            "identity": "46701112233",
            "media_url": VIDEO,
            "template_language": "en_US",
        },
        follow=True,
    )

    html = response.content.decode()
    assert response.redirect_chain, html
    assert f"Sent as a link: {VIDEO}." in html
    assert fake_sinch.sends[0].body["message"] == {"text_message": {"text": VIDEO}}
