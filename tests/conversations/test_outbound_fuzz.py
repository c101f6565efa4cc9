"""`POST /api/v1/contacts/` fuzzed around a valid start (schemathesis covers it from the schema
too, but rarely names a real agent and app): every answer is 201, 400 by field or 502, never a
500, and nothing is stored unless the answer is 201."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from conversations.models import Contact, Message
from messaging.models import MessagingService
from queues.models import Queue
from tests.factories import make_agent
from tests.fakesinch import FakeSinch

pytestmark = pytest.mark.django_db

APP = "01E4556565565ERKYO"
ODD = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    st.text(max_size=30),
    st.sampled_from(["", " ", "\x00", "\u202e", "a" * 5000]),
)
FIELDS: dict[str, Any] = {
    "direction": st.one_of(st.sampled_from(["outbound", "inbound", "OUTBOUND"]), ODD),
    "app_id": st.one_of(st.sampled_from([APP, APP.lower(), "01UNKNOWN"]), ODD),
    "channel": st.one_of(st.sampled_from(["MESSENGER", "WHATSAPP", "sms", "FAX"]), ODD),
    "identity": st.one_of(st.sampled_from(["46701234567", "+4670 1"]), ODD),
    "text": st.one_of(st.sampled_from(["Hello", ""]), ODD),
    "media_url": st.one_of(st.sampled_from(["https://example.com/a.jpg", "ftp://x"]), ODD),
    "template": st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {"name": ODD, "language": st.one_of(st.sampled_from(["en_US", "x"]), ODD)},
            optional={"parameters": st.one_of(ODD, st.dictionaries(st.text(), st.text()))},
        ),
        ODD,
    ),
}


VALID: dict[str, Any] = {
    "direction": "outbound",
    "app_id": APP,
    "channel": "MESSENGER",
    "identity": "46701234567",
    "text": "Hello",
}


@given(
    changed=st.dictionaries(st.sampled_from(sorted(FIELDS)), st.just(None), max_size=3),
    dropped=st.sets(st.sampled_from(sorted(VALID)), max_size=1),
    data=st.data(),
    agent_kind=st.sampled_from(["real", "real", "missing", "odd"]),
    queue_kind=st.sampled_from(["none", "none", "real", "missing"]),
)
@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_fuzzed_starts_answer_201_400_or_502_and_store_only_what_started(
    api: APIClient,
    service: MessagingService,
    queue: Queue,
    fake_sinch: FakeSinch,
    changed: dict[str, None],
    dropped: set[str],
    data: Any,
    agent_kind: str,
    queue_kind: str,
) -> None:
    body = {k: v for k, v in VALID.items() if k not in dropped}
    for name in changed:
        body[name] = data.draw(FIELDS[name], label=name)
    agent = make_agent()
    payload = dict(body)
    payload["agent"] = {"real": agent.pk, "missing": 999_999, "odd": "x"}[agent_kind]
    if queue_kind != "none":
        payload["queue"] = queue.pk if queue_kind == "real" else 999_999
    before = Contact.objects.count(), Message.objects.count()

    answer = api.post("/api/v1/contacts/", payload, format="json")

    assert answer.status_code in (201, 400, 502), answer.content
    if answer.status_code == 400:
        assert isinstance(answer.json(), dict) and answer.json()
    if answer.status_code != 201:
        assert (Contact.objects.count(), Message.objects.count()) == before
    else:
        Contact.objects.filter(pk=answer.json()["id"]).update(ended_at="2026-01-01T00:00:00Z")
