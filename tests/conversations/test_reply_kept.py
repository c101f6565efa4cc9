"""A reply that was not sent comes back in the reply box of the contact's page, with the error."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from configurator.limits import REPLY_MAX_CHARS
from conversations.admin import REPLY_DRAFT_KEPT_CHARS
from conversations.models import Message
from queues.models import Queue
from tests.factories import make_contact
from tests.fakesinch import FakeSinch, sinch_error

pytestmark = pytest.mark.django_db


def _reply_box(html: str) -> str:
    """The text in the reply box (the template's newline after <textarea> is not content)."""
    match = re.search(
        r'<textarea name="text" id="id_reply_text"[^>]*>\n(.*?)</textarea>', html, re.S
    )
    assert match is not None, "no reply box on the page"
    return match[1]


def test_a_reply_sinch_refuses_keeps_its_text_beside_the_error(
    admin_client_: Client, queue: Queue, fake_sinch: FakeSinch
) -> None:
    contact = make_contact(queue)
    fake_sinch.script_send(400, sinch_error(400, "Recipient is not opted in", "INVALID_ARGUMENT"))
    text = 'Your order <b>#42</b> & its "parcel"\nleaves today.'

    response = admin_client_.post(
        f"/admin/conversations/contact/{contact.pk}/reply/", {"text": text}, follow=True
    )

    html = response.content.decode()
    assert response.redirect_chain == [(f"/admin/conversations/contact/{contact.pk}/change/", 302)]
    assert "Sinch answered 400 INVALID_ARGUMENT: Recipient is not opted in" in html
    assert _reply_box(html) == (
        "Your order &lt;b&gt;#42&lt;/b&gt; &amp; its &quot;parcel&quot;\nleaves today."
    )
    assert not Message.objects.filter(contact=contact, direction="outbound").exists()
    # Shown once: reloading the page starts with an empty box again.
    again = admin_client_.get(f"/admin/conversations/contact/{contact.pk}/change/")
    assert _reply_box(again.content.decode()) == ""


def test_a_reply_that_cannot_be_sent_at_all_keeps_its_text(
    admin_client_: Client, queue: Queue, fake_sinch: FakeSinch
) -> None:
    contact = make_contact(queue)
    fake_sinch.stop()  # nobody answers at Sinch's address

    response = admin_client_.post(
        f"/admin/conversations/contact/{contact.pk}/reply/", {"text": "Still there?"}, follow=True
    )

    html = response.content.decode()
    assert 'class="error"' in html
    assert _reply_box(html) == "Still there?"


def test_a_reply_over_the_limit_is_refused_naming_it_and_kept(
    admin_client_: Client, queue: Queue, fake_sinch: FakeSinch
) -> None:
    contact = make_contact(queue)
    text = "x" * (REPLY_MAX_CHARS + 1)

    response = admin_client_.post(
        f"/admin/conversations/contact/{contact.pk}/reply/", {"text": text}, follow=True
    )

    html = response.content.decode()
    assert f"At most 4,096 characters: this one has {REPLY_MAX_CHARS + 1:,}." in html
    assert _reply_box(html) == text
    assert fake_sinch.sends == []


def test_a_draft_far_beyond_any_limit_is_kept_only_in_part(
    admin_client_: Client, queue: Queue, fake_sinch: FakeSinch
) -> None:
    contact = make_contact(queue)
    response = admin_client_.post(
        f"/admin/conversations/contact/{contact.pk}/reply/",
        {"text": "y" * (REPLY_DRAFT_KEPT_CHARS * 2)},
        follow=True,
    )
    assert _reply_box(response.content.decode()) == "y" * REPLY_DRAFT_KEPT_CHARS


def test_a_sent_reply_leaves_the_box_empty(
    admin_client_: Client, queue: Queue, fake_sinch: FakeSinch
) -> None:
    contact = make_contact(queue)
    response = admin_client_.post(
        f"/admin/conversations/contact/{contact.pk}/reply/", {"text": "On it!"}, follow=True
    )
    html = response.content.decode()
    assert "Reply sent." in html
    assert _reply_box(html) == ""


def test_the_api_refuses_a_reply_over_the_limit_naming_the_field(
    api: object, queue: Queue, fake_sinch: FakeSinch
) -> None:
    contact = make_contact(queue)
    response = api.post(  # type: ignore[attr-defined]
        f"/api/v1/contacts/{contact.pk}/messages/",
        {"text": "z" * (REPLY_MAX_CHARS + 1)},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "text": [
            f"At most 4,096 characters: this one has {REPLY_MAX_CHARS + 1:,}. Shorten it and "
            "save again."
        ]
    }
    assert fake_sinch.sends == []
