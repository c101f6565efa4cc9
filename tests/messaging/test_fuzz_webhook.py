"""Property-based fuzzing of the webhook: whatever validly signed body arrives, nothing answers 5xx.

Each body (arbitrary JSON, Sinch's fixtures with arbitrary values put in, arbitrary bytes) is
posted through both entries (the production WSGI entry and Django's view), processed by the
worker function, and then every page that shows it is rendered: the callback list and detail in
the API and the admin, and the contact it opened with its messages. A 5xx, an exception or a
callback failed by an unexpected error (logged with a traceback) fails the test.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from messaging.models import Callback, MessagingService
from messaging.webhooks.payload import MAX_DEPTH
from messaging.webhooks.processing import callbacks_process_pending
from queues.models import Queue
from tests.sinch import FIXTURES, post_callback
from tests.wsgiclient import WSGIClient

pytestmark = pytest.mark.django_db

FUZZ_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI must not be flaky
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the database is shared by the examples on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# Strings as the json module reads them: any code point, lone surrogates and NUL included.
ODD_TEXT = st.sampled_from(["\ud800", "a\udfffb", "\udbff\ud800", "\x00", "é\ud83d", "x" * 5000])
TEXT = st.text(st.characters(codec=None, categories=None), max_size=40) | ODD_TEXT
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)


def _encode(value: Any, ascii_only: bool) -> bytes:
    """JSON as the json module writes it: NaN and Infinity as such, lone surrogates escaped or
    (ascii_only=False) as raw UTF-8 bytes, which strict UTF-8 refuses."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _fixture(trigger: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{trigger}.json").read_text())


FIXTURE_NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    return found


FIXTURE_PATHS = {name: _paths(_fixture(name)) for name in FIXTURE_NAMES}


@st.composite
def sinch_shaped(draw: st.DrawFn) -> bytes:
    """A fixture of one trigger with arbitrary values at some of its keys."""
    name = draw(st.sampled_from(FIXTURE_NAMES))
    payload = copy.deepcopy(_fixture(name))
    for path in draw(st.lists(st.sampled_from(FIXTURE_PATHS[name]), min_size=1, max_size=4)):
        target: Any = payload
        for key in path[:-1]:
            target = target.get(key) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target[path[-1]] = draw(JSON_VALUES)
    return _encode(payload, draw(st.booleans()))


@st.composite
def any_json(draw: st.DrawFn) -> bytes:
    return _encode(draw(JSON_VALUES), draw(st.booleans()))


@st.composite
def deep(draw: st.DrawFn) -> bytes:
    """A message whose text is nested `depth` lists deep (or the whole body, as a list)."""
    depth = draw(st.integers(min_value=1, max_value=3000))
    nested = "[" * depth + "]" * depth
    if draw(st.booleans()):
        return nested.encode()
    body = _fixture("message_inbound")
    body["message"]["contact_message"]["text_message"]["text"] = "@"
    return json.dumps(body).replace('"@"', nested).encode()


@st.composite
def duplicate_keys(draw: st.DrawFn) -> bytes:
    """A fixture with its notification key repeated: the last one counts."""
    name = draw(st.sampled_from(FIXTURE_NAMES))
    text = json.dumps(_fixture(name))
    key, value = draw(st.sampled_from(list(_fixture(name).items())))
    extra = json.dumps({key: draw(JSON_VALUES) if draw(st.booleans()) else value})
    return (text[:-1] + ", " + extra[1:]).encode("utf-8", "surrogatepass")


BODIES = sinch_shaped() | any_json() | deep() | duplicate_keys()


@pytest.fixture(params=["entry", "view"])
def webhook_client(request: pytest.FixtureRequest) -> Any:
    """The production WSGI application, or Django's test client (the view alone)."""
    return WSGIClient() if request.param == "entry" else Client()


class Pages:
    """Everything that shows a callback and what it made, rendered and checked for 5xx."""

    def __init__(self, api: APIClient, admin: Client) -> None:
        self.api = api
        self.admin = admin

    def check(self, callback: Callback | None) -> None:
        urls = ["/api/v1/callbacks/", "/admin/messaging/callback/"]
        if callback is not None:
            urls += [
                f"/api/v1/callbacks/{callback.pk}/",
                f"/admin/messaging/callback/{callback.pk}/change/",
            ]
            contact = (
                callback.summary.get("contact") if isinstance(callback.summary, dict) else None
            )
            if contact:
                urls += [
                    "/api/v1/contacts/",
                    f"/api/v1/contacts/{contact}/",
                    f"/api/v1/contacts/{contact}/messages/",
                    "/admin/conversations/contact/",
                    f"/admin/conversations/contact/{contact}/change/",
                ]
        for url in urls:
            client = self.api if url.startswith("/api/") else self.admin
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if url.startswith("/api/"):
                response.json()


@pytest.fixture
def pages(api: APIClient, admin_client_: Client) -> Pages:
    return Pages(api, admin_client_)


def _post_process_and_render(
    client: Any, service: MessagingService, pages: Pages, body: bytes, caplog: Any
) -> None:
    caplog.clear()
    response = post_callback(client, service.pk, body)
    assert response.status_code < 500, response.content
    reply = response.json()
    callback = None
    if response.status_code == 200:
        callback = Callback.objects.get(pk=reply["callback"])
    else:
        assert response.status_code == 400, reply
        assert reply["error"]
    with caplog.at_level(logging.ERROR, logger="messaging"):
        callbacks_process_pending()
    unexpected = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not unexpected, unexpected
    if callback is not None:
        callback.refresh_from_db()
        assert callback.status != "pending"
    pages.check(callback)


def _changed(name: str, path: str, value: Any) -> bytes:
    """The fixture `name` with the value at the dotted `path` replaced."""
    payload = _fixture(name)
    *parents, last = path.split(".")
    target = payload
    for key in parents:
        target = target[key]
    target[last] = value
    return _encode(payload, True)


# Values longer than the columns they end up in, and times that look like times.
LONG = "9" * 3000
EDGE_BODIES = [
    _changed("message_inbound", "message.channel_identity.identity", LONG),
    _changed("message_inbound", "message.channel_identity.channel", LONG),
    _changed("message_inbound", "message.id", LONG),
    _changed("message_inbound", "message.contact_id", LONG),
    _changed("message_inbound", "message.conversation_id", LONG),
    _changed("message_inbound", "message.accept_time", "2026-13-45T25:61:00Z"),
    _changed("message_inbound", "message.accept_time", "2026-11-21T09:00:00"),
    _changed("message_inbound", "message.contact_message", {"media_message": {"url": "h" + LONG}}),
    _changed("message_inbound", "message.contact_message", {"media_message": {"url": "x"}}),
    _changed("message_delivery", "message_delivery_report.message_id", LONG),
    _changed("message_delivery", "message_delivery_report.status", LONG),
    _changed("message_delivery", "event_time", "2026-02-30T00:00:00Z"),
    _changed("conversation_stop", "conversation_stop_notification.conversation.id", LONG),
]


@pytest.mark.parametrize("body", EDGE_BODIES)
def test_values_beyond_their_columns_never_break_processing(
    webhook_client: Any,
    service: MessagingService,
    queue: Queue,
    pages: Pages,
    caplog: Any,
    body: bytes,
) -> None:
    _post_process_and_render(webhook_client, service, pages, body, caplog)


@FUZZ_SETTINGS
@given(body=BODIES)
@example(body=b'{"message": {"id": "\\ud800"}}')
@example(body=b'{"message_delivery_report": {"message_id": "\\udfff", "status": "\\ud800"}}')
@example(body=b'{"app_id": NaN, "message": {"id": Infinity}}')
@example(body=b'{"message": {"id": "x"}, "n": 1e999}')
@example(body=b"[" * 978 + b"]" * 978)
@example(body=b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}")
@example(body=b'{"app_id": "' + b"A" * 500 + b'", "message": {"id": "' + b"M" * 500 + b'"}}')
@example(body=b'{"message": {"id": "m"}, "message": 1}')
@example(body=b"1" * 5000)
def test_signed_json_never_breaks_the_webhook_or_a_page(
    webhook_client: Any,
    service: MessagingService,
    queue: Queue,
    pages: Pages,
    caplog: Any,
    body: bytes,
) -> None:
    _post_process_and_render(webhook_client, service, pages, body, caplog)


@FUZZ_SETTINGS
@given(body=st.binary(max_size=200))
@example(body=b'{"message": {"id": "\xed\xa0\x80"}}')  # a surrogate as raw bytes
@example(body=b"\xef\xbb\xbf{}")  # a UTF-8 byte order mark
@example(body=b'{"a": "\xff"}')
def test_signed_bytes_never_break_the_webhook(
    webhook_client: Any,
    service: MessagingService,
    pages: Pages,
    caplog: Any,
    body: bytes,
) -> None:
    _post_process_and_render(webhook_client, service, pages, body, caplog)


@pytest.mark.parametrize(
    ("depth", "status"),
    [(MAX_DEPTH, 200), (MAX_DEPTH + 1, 400), (977, 400), (978, 400), (100_000, 400)],
)
def test_nesting_beyond_the_limit_is_refused_with_a_reason(
    webhook_client: Any, service: MessagingService, depth: int, status: int
) -> None:
    body = b'{"message": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    response = post_callback(webhook_client, service.pk, body)
    assert response.status_code == status
    if status == 400:
        assert response.json() == {"error": f"body is nested deeper than {MAX_DEPTH} levels"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"a": NaN}', "body is not JSON: NaN is not a number JSON allows"),
        (b'{"a": -Infinity}', "body is not JSON: -Infinity is not a number JSON allows"),
        (b'{"a": 1e999}', "body holds a number out of range: 1e999"),
        (b'{"a": "\xed\xa0\x80"}', "body is not UTF-8"),
        (b'"text"', "body is not a JSON object"),
        (b"1" * 5000, "body is not JSON"),
    ],
)
def test_what_json_does_not_allow_is_refused_with_a_reason(
    webhook_client: Any, service: MessagingService, body: bytes, reason: str
) -> None:
    response = post_callback(webhook_client, service.pk, body)
    assert (response.status_code, response.json()) == (400, {"error": reason})
    assert not Callback.objects.exists()


def test_lone_surrogates_and_long_ids_are_stored_safely_and_shown(
    webhook_client: Any, service: MessagingService, queue: Queue, pages: Pages
) -> None:
    body = _fixture("message_inbound")
    body["app_id"] = "A" * 300
    body["message"]["conversation_id"] = "\ud800" + "C" * 300
    body["message"]["contact_message"]["text_message"]["text"] = "broken emoji \ud83d!"
    response = post_callback(webhook_client, service.pk, json.dumps(body).encode())
    assert response.status_code == 200
    callback = Callback.objects.get()
    assert callback.app_id == "A" * 64
    assert callback.conversation_id == "\ufffd" + "C" * 99
    callbacks_process_pending()
    pages.check(callback)
    shown = pages.api.get(f"/api/v1/callbacks/{callback.pk}/").json()["payload"]
    assert shown["message"]["contact_message"]["text_message"]["text"] == "broken emoji \ufffd!"


def test_bodies_stored_before_the_checks_are_shown_and_processed(
    service: MessagingService, pages: Pages
) -> None:
    """Callbacks accepted before the webhook refused NaN or deep nesting break no page."""
    rows = [
        b'{"message": {"id": "m1", "n": NaN, "x": 1e999}}',
        b'{"message": {"id": "\\ud800"}}',
        b'{"message": ' + b"[" * 900 + b"]" * 900 + b"}",
        b'{"message": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ]
    for n, raw in enumerate(rows):
        Callback.objects.create(
            service=service,
            trigger="MESSAGE_INBOUND",
            app_id="01E4556565565ERKYO",  # the service's own app: the body is what is read
            nonce=f"legacy-{n}",
            signed_at="2026-01-01T00:00:00Z",
            raw_body=raw,
            dedupe_key=f"legacy-{n}",
        )
    callbacks_process_pending()
    for callback in Callback.objects.all():
        assert callback.status == "failed"
        pages.check(callback)
    deepest = Callback.objects.get(nonce="legacy-3")
    assert deepest.status_reason == f"body is nested deeper than {MAX_DEPTH} levels"
    assert pages.api.get(f"/api/v1/callbacks/{deepest.pk}/").json()["payload"] is None
