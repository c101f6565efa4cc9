"""What an endpoint answers is recorded and shown with every secret the request carried masked.

The endpoint is a real HTTPS server on 127.0.0.1 (`https_sink`) that echoes the request's
method, path, headers and body back, as a careless or hostile endpoint would.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from configurator.secrets import MASK, mask_secrets
from conversations.models import Contact
from integrations.models import Delivery
from queues.models import Queue
from tests.factories import make_contact, make_integration
from tests.httpsink import HttpsSink, SinkAnswer
from tests.taskrunner import run_ready_tasks

pytestmark = pytest.mark.django_db

API_KEY = 'key/with "quotes" & spaces+é'
BASIC_SECRET = "basic-pass-9f8e7d"
BASIC_B64 = base64.b64encode(b"cc-user:" + BASIC_SECRET.encode()).decode()
ECHO = SinkAnswer(echo=True)


def _record_dump() -> str:
    rows = list(Delivery.objects.values())
    cads = list(Contact.objects.values("cad"))
    return json.dumps(rows, default=str, ensure_ascii=False) + json.dumps(cads, ensure_ascii=False)


def _secret_forms_absent(text: str, *secrets: str) -> None:
    for secret in secrets:
        for form in (
            secret,
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
        ):
            assert form not in text


def test_echoed_header_and_basic_credentials_are_masked_in_the_record(
    https_sink: HttpsSink, queue: Queue
) -> None:
    https_sink.default = ECHO
    make_integration(
        queues=[queue],
        endpoint_url=f"{https_sink.url}/hook",
        events=["queued"],
        configuration={
            "request": {
                "method": "POST",
                "authentication": {"type": "basic"},
                "headers": {"x-api-key": "{authentications.api-key}"},
                "params": {"k": "{authentications.api-key}"},
                "body": {"key": "{authentications.api-key}"},
            },
            "response": {"save": {"echoed": "{response.body.headers}"}},
        },
        authentications={"basic:cc-user": BASIC_SECRET, "api-key": API_KEY},
    )

    make_contact(queue)
    run_ready_tasks()

    sent = https_sink.requests[0]
    assert sent.headers["x-api-key"] == API_KEY  # really sent
    assert sent.headers["authorization"] == f"Basic {BASIC_B64}"
    delivery = Delivery.objects.get()
    assert delivery.status == "succeeded", delivery.error
    assert MASK in delivery.response_excerpt
    assert "Basic " + MASK in delivery.response_excerpt
    dump = _record_dump()
    _secret_forms_absent(dump, API_KEY, BASIC_SECRET, BASIC_B64)
    assert f'"path": "/hook?k={MASK}"' in delivery.response_excerpt


def test_digest_answer_is_masked(https_sink: HttpsSink, queue: Queue) -> None:
    https_sink.answer(
        SinkAnswer(
            status=401,
            headers={"WWW-Authenticate": 'Digest realm="cc", nonce="abc123", qop="auth"'},
        ),
        ECHO,
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

    header = https_sink.requests[1].headers["authorization"]
    response_hash = header.split('response="')[1].split('"')[0]
    delivery = Delivery.objects.get()
    assert delivery.status == "succeeded"
    assert response_hash not in _record_dump()
    assert header.removeprefix("Digest ") not in delivery.response_excerpt
    assert f"Digest {MASK}" in delivery.response_excerpt


def test_oauth_access_token_is_masked(https_sink: HttpsSink, queue: Queue) -> None:
    https_sink.answer(SinkAnswer(body={"access_token": "bearer-4f3a2b1c", "expires_in": 600}), ECHO)
    make_integration(
        queues=[queue],
        endpoint_url=f"{https_sink.url}/api",
        events=["queued"],
        configuration={
            "request": {
                "method": "POST",
                "authentication": {"type": "oauth", "access_token_url": f"{https_sink.url}/token"},
            }
        },
        authentications={"oauth:client-1": "client-secret-1"},
    )

    make_contact(queue)
    run_ready_tasks()

    assert https_sink.requests[1].headers["authorization"] == "Bearer bearer-4f3a2b1c"
    delivery = Delivery.objects.get()
    assert f"Bearer {MASK}" in delivery.response_excerpt
    assert "bearer-4f3a2b1c" not in _record_dump()


def test_secrets_in_error_texts_are_masked(https_sink: HttpsSink, queue: Queue) -> None:
    secret = "location-secret-5e6f"
    https_sink.answer(
        SinkAnswer(status=302, headers={"Location": f"https://elsewhere.example/?k={secret}"})
    )
    make_integration(
        queues=[queue],
        endpoint_url=https_sink.url,
        events=["queued"],
        configuration={"request": {"method": "GET", "headers": {"k": "{authentications.k}"}}},
        authentications={"k": secret},
    )

    make_contact(queue)
    run_ready_tasks()

    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert "redirects are not followed" in delivery.error and MASK in delivery.error
    assert secret not in _record_dump()


def test_live_test_run_shows_the_answer_masked(
    https_sink: HttpsSink, queue: Queue, api: APIClient
) -> None:
    https_sink.default = ECHO
    integration = make_integration(
        queues=[queue],
        endpoint_url=https_sink.url,
        events=["queued"],
        configuration={"request": {"method": "POST", "headers": {"x-k": "{authentications.k}"}}},
        authentications={"k": "header-secret-77aa"},
    )

    run = api.post(
        f"/api/v1/integrations/{integration.pk}/test/",
        {"event": "queued", "live": True},
        format="json",
    )

    assert run.status_code == 200
    text = json.dumps(run.json())
    assert https_sink.requests[0].headers["x-k"] == "header-secret-77aa"
    assert "header-secret-77aa" not in text
    assert MASK in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a s3cr/et b", f"a {MASK} b"),
        ('{"v": "s3cr\\/et"}', f'{{"v": "{MASK}"}}'),  # JSON with escaped slashes (PHP)
        ("q=s3cr%2Fet&x=1", f"q={MASK}&x=1"),
        ({"s3cr/et": ["s3cr/et", 5, None]}, {MASK: [MASK, 5, None]}),
        ("nothing here", "nothing here"),
    ],
)
def test_mask_secrets_forms(value: Any, expected: Any) -> None:
    assert mask_secrets(value, ["s3cr/et"]) == expected


def test_mask_secrets_json_escaped_and_cut_off() -> None:
    secret = 'pa"ss\\word-123'
    escaped = json.dumps({"k": secret})

    assert secret not in mask_secrets(escaped, [secret])
    assert json.dumps(secret)[1:-1] not in mask_secrets(escaped, [secret])
    assert mask_secrets('… the end: pa"ss\\wo', [secret], cut_off=True) == f"… the end: {MASK}"
    assert mask_secrets("ends with pa", [secret], cut_off=True) == "ends with pa"  # too short


@pytest.mark.parametrize(
    "shown",
    [
        '{"h": "wJalrXUtnFEMI\\/K7MDENG+bPx&Ry<"}',  # JSON with escaped slashes (PHP)
        "wJalrXUtnFEMI/K7MDENG+bPx&amp;Ry&lt;",  # HTML/XML-escaped
        "wJalrXUtnFEMI%2fK7MDENG%2bbPx%26Ry%3c",  # lower-case percent escapes (.NET)
        "d0phbHJYVXRuRkVNSS9LN01ERU5HK2JQeCZSeTw=",  # base64
    ],
)
def test_other_common_encodings_of_a_secret_are_masked(shown: str) -> None:
    from configurator.secrets import mask_secrets

    masked = mask_secrets(f"before {shown} after", ["wJalrXUtnFEMI/K7MDENG+bPx&Ry<"])
    assert "wJalrXUtnFEMI" not in masked
    assert "d0phbHJYVXRuRkVNSS9LN01ERU5HK2JQeCZSeTw" not in masked
