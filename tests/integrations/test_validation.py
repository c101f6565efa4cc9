"""Every rule of an integration's configuration: one failing case, one passing case each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integrations.choices import (
    SUPPORTED_EVENTS,
    authentication_type,
    conversation_types,
    supported_events,
)
from integrations.conditions import ConditionError, condition_compile, condition_evaluate
from integrations.configuration import configuration_check
from integrations.validation import (
    AuthenticationInput,
    IntegrationInput,
    ScopeQueue,
    clean_authentications,
    clean_integration,
    endpoint_url_problems,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "integrations"


class FakeReferences:
    """Queue 7 is a chat queue (01E4556565565ERKYO@whatsapp), queue 8 a phone queue."""

    def queue_channel_type(self, queue_id: str) -> str | None:
        return {"7": "chat", "8": "phone"}.get(queue_id)

    def queue_channel_type_by_address(self, address: str) -> str | None:
        known = "01E4556565565ERKYO@whatsapp.sinchconversation.com"
        return "chat" if address == known else None

    def agent_exists(self, identifier: str) -> bool:
        return identifier in {"1001", "anna@example.com"}


def problems(
    configuration: Any,
    *,
    ids: list[str] | None = None,
    endpoint: str = "https://hooks.example.com/x",
    channel_type: str = "chat",
) -> list[str]:
    check = configuration_check(
        configuration,
        channel_type=channel_type,
        endpoint_url=endpoint,
        authentication_ids=ids or [],
        references=FakeReferences(),
    )
    return [str(p) for p in check.problems]


def post(**request: Any) -> dict[str, Any]:
    return {"request": {"method": "POST", **request}}


def test_seed_004_configurations_both_variants_pass() -> None:
    for variant in ("seed004_variant1.json", "seed004_variant2.json"):
        configuration = json.loads((FIXTURES / variant).read_text())
        assert problems(configuration, ids=["basic:contactpro", "api-key"]) == []


def test_the_issue_example_of_a_mistyped_authentication() -> None:
    found = problems(post(headers={"x-api-key": "{authentications.api-kye}"}), ids=["api-key"])
    assert found == [
        'request.headers.x-api-key: unknown authentication "api-kye"; defined: api-key '
        '(did you mean "api-key"?)'
    ]


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        ([], "The configuration is a JSON object"),
        ({"request": {"method": "POST"}, "extra": 1}, "extra: unknown key; allowed here: request"),
        ({"request": {"method": "POST", "hedaers": {}}}, "request.hedaers: unknown key; did you"),
        ({"response": {}}, "request: required"),
        ({"request": {"headers": {}}}, "request.method: required"),
        (post(method="FETCH"), "request.method: “FETCH” is not allowed; use one of GET, POST"),
        (post(headers=[]), "request.headers: expected an object, found a list"),
        (post(headers={"x": 1}), "request.headers.x: expected a string, found a number"),
        (post(headers={"bad name": "x"}), "request.headers.bad name: expected a header name"),
        (post(params={"q": {"a": 1}}), "request.params.q: expected a string or a number"),
        (post(timeout=0), "request.timeout: expected seconds, more than 0 and at most 60"),
        (post(timeout=61), "request.timeout: expected seconds"),
        (post(timeout="61"), "request.timeout: expected seconds"),
        (post(timeout="soon"), "request.timeout: expected seconds"),
        (post(block="yes"), "request.block: expected true or false, found a string"),
        (post(condition=""), "request.condition: must not be empty"),
        ({"request": {"method": "GET", "body": {}}}, "request.body: a GET request has no body"),
        ({"request": {"method": "DELETE", "body": {}}}, "request.body: a DELETE request has no"),
        (post(authentication={"type": "ntlm"}), "request.authentication.type: “ntlm” is not"),
        (post(authentication={}), "request.authentication.type: required"),
        (post(body={"x": "{contact.prioriy}"}), "did you mean {contact.priority}?"),
        (post(body={"x": "{customer.id}"}), "request.body.x: unknown placeholder {customer}"),
        (post(body={"x": "{contact.queue.idd}"}), "did you mean {contact.queue.id}?"),
        (post(body={"x": "{contact.id.more}"}), "{contact.id} is a single value with no fields"),
        (post(body={"x": "{response.body.id}"}), "request.body.x: {response.body.id} is only"),
        (post(body={"x": "{authentications}"}), "name the authentication"),
        (post(body=["{event.nam}"]), "request.body[0]: unknown placeholder {event.nam}"),
        (post(condition="contact.priority <= 50 and true"), "CEL writes &&, ||, !"),
        (post(condition="contact.prio < 3"), "request.condition: unknown field contact.prio"),
        (post(condition="customer.id == 1"), "unknown variable “customer”; known: contact"),
        ({**post(), "response": {"set": {}}}, "response.set: must not be empty"),
        ({**post(), "response": {"set": {"skills": 1}}}, "response.set.skills: unknown key"),
        ({**post(), "response": {"set": {"priority": -1}}}, "response.set.priority: expected an"),
        ({**post(), "response": {"set": {"priority": "high"}}}, "found “high”"),
        ({**post(), "response": {"set": {"queue": {}}}}, "response.set.queue: expected an object"),
        (
            {**post(), "response": {"set": {"queue": {"id": 7, "address": "x"}}}},
            "response.set.queue: expected an object with either “id” or “address”",
        ),
        ({**post(), "response": {"set": {"queue": {"id": 99}}}}, "no queue has the ID “99”"),
        (
            {**post(), "response": {"set": {"queue": {"id": "8"}}}},
            "response.set.queue.id: queue “8” is a phone queue; a Chat integration sets chat",
        ),
        (
            {**post(), "response": {"set": {"queue": {"address": "X@sms"}}}},
            "response.set.queue.address: no queue has the address “X@sms”",
        ),
        (
            {**post(), "response": {"set": {"preferredAgent": "bob"}}},
            "response.set.preferredAgent: no agent has the identifier “bob”",
        ),
        (
            {**post(), "response": {"set": {"requiredAgents": {"agents": ["1001", "x"]}}}},
            "response.set.requiredAgents.agents[1]: no agent has the identifier “x”",
        ),
        (
            {**post(), "response": {"set": {"requiredAgents": {"timeout": 60}}}},
            "response.set.requiredAgents.agents: required",
        ),
        ({**post(), "response": {"save": {"2ndId": "x"}}}, "response.save.2ndId: “2ndId” is not"),
        ({**post(), "response": {"save": {"a": {"b c": 1}}}}, "response.save.a.b c: “b c”"),
        ({**post(), "response": {"save": {"xmlId": 1}}}, "response.save.xmlId: “xmlId” is not"),
        (
            {**post(), "response": {"save": {"a": "{authentications.api-key}"}}},
            "may only be used in request headers, params or body",
        ),
    ],
)
def test_rejects(configuration: Any, expected: str) -> None:
    found = problems(configuration, ids=["api-key"])
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    "configuration",
    [
        post(),
        {"request": {"method": "GET", "params": {"phone": "{contact.source}", "n": 5}}},
        post(timeout=14.5, block=True),
        post(timeout="14.5"),
        post(headers={"x-contact-event": "{contact.direction}-{contact.channel_type}-{event}"}),
        post(body={"contact": "{contact}", "literal": "{{not a placeholder}}"}),
        post(body={"cad": "{contact.cad.customer_data.id}", "when": "{event.datetime}"}),
        post(condition='contact.priority <= 50 && contact.channel_sub_type == "whatsapp"'),
        post(condition='contact.skills.exists(s, s.value > 3) && event.name == "ended"'),
        post(condition='has(contact.cad.customer) && contact.cad.customer.rank == "gold"'),
        {
            **post(),
            "response": {
                "set": {
                    "priority": "{response.body.priority}",
                    "queue": {"id": "{response.body.queue.id}"},
                    "preferredAgent": "{response.headers.x-agent}",
                    "requiredAgents": {"agents": "{response.body.agents}", "timeout": 600},
                },
                "save": {"customer_data": {"id": "{response.body.id}", "tier-1": 1}},
            },
        },
        {**post(), "response": {"set": {"priority": "10", "queue": {"id": 7}}}},
        {
            **post(),
            "response": {
                "set": {"queue": {"address": "01E4556565565ERKYO@whatsapp.sinchconversation.com"}}
            },
        },
        {**post(), "response": {"set": {"preferredAgent": "anna@example.com"}}},
        {**post(), "response": {"set": {"requiredAgents": {"agents": ["1001"]}}}},
    ],
)
def test_accepts(configuration: Any) -> None:
    assert problems(configuration, ids=["api-key"]) == []


def test_authentication_types_must_be_defined_once() -> None:
    basic = post(authentication={"type": "basic"})
    assert problems(basic, ids=["api-key"]) == [
        'request.authentication.type: "basic" needs an authentication basic:<username>; '
        "defined: api-key"
    ]
    assert problems(basic, ids=["basic:alice"]) == []
    assert "keep one" in problems(basic, ids=["basic:alice", "basic:bob"])[0]
    digest = post(authentication={"type": "digest"})
    assert problems(digest, ids=["basic:alice"])[0].startswith(
        'request.authentication.type: "digest" needs an authentication digest:<username>'
    )
    assert problems(digest, ids=["digest:alice"]) == []


def test_oauth_names_its_client_and_token_url() -> None:
    oauth = {
        "type": "oauth",
        "client_id": "crm",
        "access_token_url": "https://login.example.com/oauth2/token",
        "scope": ["contacts"],
    }
    assert problems(post(authentication=oauth), ids=["oauth:crm"]) == []
    assert problems(post(authentication=oauth), ids=["oauth:other"]) == [
        'request.authentication.client_id: unknown authentication "oauth:crm"; defined: oauth:other'
    ]
    no_url = {"type": "oauth", "client_id": "crm"}
    assert problems(post(authentication=no_url), ids=["oauth:crm"]) == [
        "request.authentication.access_token_url: required for oauth"
    ]
    plain = {**oauth, "access_token_url": "http://login.example.com/token"}
    assert "https://" in problems(post(authentication=plain), ids=["oauth:crm"])[0]
    basic_with_scope = {"type": "basic", "scope": "x"}
    assert problems(post(authentication=basic_with_scope), ids=["basic:a"]) == [
        "request.authentication.scope: only for oauth, not basic"
    ]


def test_a_placeholder_takes_a_header_value_entry_only() -> None:
    configuration = post(headers={"Authorization": "{authentications.basic:alice}"})
    [problem] = problems(configuration, ids=["basic:alice"])
    assert 'is a Basic entry, used through "authentication": {"type": "basic"}' in problem


def test_unused_authentications_are_a_notice_not_an_error() -> None:
    check = configuration_check(
        post(),
        channel_type="chat",
        endpoint_url="https://x.example.com/",
        authentication_ids=["api-key"],
        references=FakeReferences(),
    )
    assert check.problems == []
    assert check.notices == ["Authentication “api-key” is not used by the JSON configuration."]


def test_echo_endpoint_makes_no_call() -> None:
    echo = {
        "request": {"condition": "has(contact.cad.customer_data)"},
        "response": {"set": {"priority": "{response.body.cad.customer_data.rank}"}},
    }
    assert problems(echo, endpoint="edi://echo") == []
    with_headers = {"request": {"method": "GET", "headers": {"a": "b"}}}
    assert problems(with_headers, endpoint="edi://echo") == [
        "request.headers: edi://echo makes no call: remove it (the answer is the contact's data)."
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://hooks.example.com/x", "Enter an https:// address"),
        ("ftp://hooks.example.com/x", "Enter an https:// address"),
        ("https://", "Enter a complete https:// address"),
        ("https://{contact.cad.host}/x", "not in the host"),
        ("https://user:pw@hooks.example.com/", "Remove the credentials from the address"),
        ("https://x.example.com/{contact.queue}", "{contact.queue} is an object"),
        ("https://x.example.com/{contact.idd}", "did you mean {contact.id}?"),
        ("https://x.example.com/?k={authentications.api-key}", "may only be used in request"),
        ("https://x.example.com/{response.body.id}", "only known in response"),
    ],
)
def test_endpoint_url_rejects(url: str, expected: str) -> None:
    found = endpoint_url_problems(url)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    "url",
    [
        "https://external.rest.api/contact-pro-events/{event}",
        "https://external.rest.api/contact-pro-contacts/{contact.id}?q={contact.queue.id}",
        "https://127.0.0.1:8443/hook",
        "edi://echo",
    ],
)
def test_endpoint_url_accepts(url: str) -> None:
    assert endpoint_url_problems(url) == []


def test_support_table_is_the_one_of_the_issue() -> None:
    every = {"received", "queued", "allocated", "accepted", "rejected", "transferred",
             "forwarded", "ended", "abandoned"}  # fmt: skip
    assert set(SUPPORTED_EVENTS[("chat", "inbound")]) == every
    assert set(SUPPORTED_EVENTS[("phone", "inbound")]) == every
    assert set(SUPPORTED_EVENTS[("phone", "outbound")]) == {
        "accepted", "rejected", "transferred", "ended", "abandoned"
    }  # fmt: skip
    assert set(SUPPORTED_EVENTS[("chat", "outbound")]) == {
        "accepted", "transferred", "ended", "abandoned"
    }  # fmt: skip
    assert conversation_types("multi", "both") == [
        ("chat", "inbound"),
        ("chat", "outbound"),
        ("phone", "inbound"),
        ("phone", "outbound"),
        ("email", "inbound"),
    ]
    assert "received" not in supported_events(conversation_types("chat", "outbound"))


def _integration(**changes: Any) -> IntegrationInput:
    values: dict[str, Any] = {
        "channel_type": "chat",
        "direction": "inbound",
        "endpoint_url": "https://hooks.example.com/x",
        "events": ["ended"],
        "direct_chats": False,
        "direct_calls": False,
        "queues": [],
        "authentication_ids": [],
        "configuration": post(),
    }
    values.update(changes)
    return IntegrationInput(**values)


def _errors(**changes: Any) -> dict[str, list[str]]:
    return clean_integration(_integration(**changes), references=FakeReferences()).errors


def test_an_event_no_conversation_of_the_integration_produces_is_named() -> None:
    assert _errors(direction="outbound", events=["received", "ended"]) == {
        "events": ["Received: none of this integration's conversations (chats out) produce it."]
    }
    assert _errors(direction="outbound", channel_type="phone", events=["rejected"]) == {}
    assert _errors(direction="outbound", events=["rejected"]) != {}
    assert _errors(direction="both", events=["received", "rejected"]) == {}


def test_email_is_inbound_only() -> None:
    assert _errors(channel_type="email", direction="outbound") == {
        "direction": ["E-mail conversations are inbound only: choose Inbound."]
    }
    assert _errors(channel_type="email") == {}


def test_scope_must_match_the_channel_type() -> None:
    assert _errors(direct_calls=True) == {
        "direct_calls": ["A Chat integration has no direct calls."]
    }
    assert _errors(channel_type="phone", direct_chats=True) == {
        "direct_chats": ["A Phone integration has no direct chats."]
    }
    assert _errors(queues=[ScopeQueue("Hotline", "phone")]) == {
        "queues": ["Queue “Hotline” is a phone queue; a Chat integration takes chat queues."]
    }
    assert (
        _errors(
            channel_type="multi",
            direct_chats=True,
            direct_calls=True,
            queues=[ScopeQueue("Hotline", "phone"), ScopeQueue("Support", "chat")],
        )
        == {}
    )


def test_configuration_errors_come_back_under_configuration() -> None:
    errors = _errors(configuration={"request": {}})
    assert errors == {
        "configuration": ["request.method: required: GET, POST, PUT, PATCH or DELETE"]
    }


@pytest.mark.parametrize(
    ("entries", "field", "expected"),
    [
        ([AuthenticationInput("", "s")], "authentication_id", "Enter the authentication ID."),
        ([AuthenticationInput("basic:", "s")], "authentication_id", "Enter basic:<username>"),
        ([AuthenticationInput("basic:a:b", "s")], "authentication_id", "without spaces"),
        ([AuthenticationInput("oauth:", "s")], "authentication_id", "Enter oauth:<client ID>"),
        ([AuthenticationInput("api key", "s")], "authentication_id", "a name for a header"),
        ([AuthenticationInput("api-key")], "secret", "Enter the secret"),
        ([AuthenticationInput("api-key", " s")], "secret", "Remove the spaces"),
        ([AuthenticationInput("api-key", "x" * 4001)], "secret", "At most 4000"),
    ],
)
def test_authentication_entry_rejects(
    entries: list[AuthenticationInput], field: str, expected: str
) -> None:
    result = clean_authentications(entries)
    assert any(expected in m for m in result.errors[0][field]), result.errors


def test_authentication_entries_are_typed_by_their_id() -> None:
    result = clean_authentications(
        [
            AuthenticationInput("basic:alice", "pw"),
            AuthenticationInput("digest:bob", "pw"),
            AuthenticationInput("oauth:crm", "cs"),
            AuthenticationInput("api-key", None, has_stored_secret=True),
        ]
    )
    assert result.is_valid
    assert [
        (e.authentication_id, authentication_type(e.authentication_id), e.secret)
        for e in result.entries
    ] == [
        ("basic:alice", "basic", "pw"),
        ("digest:bob", "digest", "pw"),
        ("oauth:crm", "oauth", "cs"),
        ("api-key", "header", None),
    ]
    twice = clean_authentications([AuthenticationInput("k", "a"), AuthenticationInput("k", "b")])
    assert twice.errors == {1: {"authentication_id": ["“k” is already entry 1."]}}


def test_condition_compiles_to_a_program_and_refuses_unknown_data() -> None:
    program = condition_compile('contact.priority <= 50 && contact.channel_sub_type == "whatsapp"')
    assert program is not None
    with pytest.raises(ConditionError, match="does not parse at column"):
        condition_compile("contact.priority <=")
    with pytest.raises(ConditionError, match="unknown function “__import__”"):
        condition_compile('__import__("os").system("true")')


def test_conditions_test_missing_fields_with_has() -> None:
    program = condition_compile('has(contact.agent) && contact.agent.name == "Anna"')
    event = {"name": "ended", "datetime": "2026-11-21T10:00:00.000Z", "id": "E1"}
    assert condition_evaluate(program, contact={"agent": None}, event=event) is False
    with_agent = {"agent": {"id": 1, "name": "Anna", "number": None}}
    assert condition_evaluate(program, contact=with_agent, event=event) is True
    failing = condition_compile("contact.priority > 5")
    with pytest.raises(ConditionError, match="failed on this conversation"):
        condition_evaluate(failing, contact={"priority": "high"}, event=event)
    not_boolean = condition_compile("contact.priority")
    with pytest.raises(ConditionError, match="not true or false"):
        condition_evaluate(not_boolean, contact={"priority": 5}, event=event)
