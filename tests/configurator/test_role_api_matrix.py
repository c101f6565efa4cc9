"""Each role against each API endpoint and method: the answer every cell of the matrix expects.

Writes send a body the endpoint refuses (400) or an action the contact's state does not allow
(409) where they can, so a role that may write is told what is wrong while one that may not is
refused (403) before the body is read. Requests are real, authenticated with an API token of a
staff user whose rights come only from their role's group (docs/governance.md, "Roles").
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Model
from rest_framework.test import APIClient

from configurator.tokens import api_token_create
from messaging.models import MessagingService
from queues.models import Queue
from tests.roles import CAD_VALUE, PHONE, ROLE_OF, answers, one_of_each, role_user

pytestmark = pytest.mark.django_db

EVERYONE = "AISV"
# (method, path, body, expected answer by role)
MATRIX: list[tuple[str, str, Any, dict[str, int]]] = [
    # Messaging services: configuration with Sinch's secrets, Administrator only to change.
    ("get", "/api/v1/messaging-services/", None, answers(200, EVERYONE)),
    ("post", "/api/v1/messaging-services/", {}, answers(400, "A")),
    ("get", "/api/v1/messaging-services/{service}/", None, answers(200, EVERYONE)),
    ("patch", "/api/v1/messaging-services/{service}/", {"name": ""}, answers(400, "A")),
    ("delete", "/api/v1/messaging-services/{service}/", None, answers(204, "A")),
    (
        "post",
        "/api/v1/messaging-services/{service}/rotate-webhook-secret/",
        {"overlap_hours": 999},
        answers(400, "A"),
    ),
    ("post", "/api/v1/messaging-services/{service}/doctor/", {"fix": "maybe"}, answers(400, "A")),
    ("post", "/api/v1/messaging-services/{service}/simulate/", {}, answers(400, "A")),
    # Queues and agents: the Supervisor's.
    ("get", "/api/v1/queues/", None, answers(200, EVERYONE)),
    ("post", "/api/v1/queues/", {}, answers(400, "AS")),
    ("get", "/api/v1/queues/{queue}/", None, answers(200, EVERYONE)),
    ("patch", "/api/v1/queues/{queue}/", {"name": ""}, answers(400, "AS")),
    ("delete", "/api/v1/queues/{queue}/", None, answers(409, "AS")),
    ("get", "/api/v1/agents/", None, answers(200, EVERYONE)),
    ("post", "/api/v1/agents/", {}, answers(400, "AS")),
    ("get", "/api/v1/agents/{agent}/", None, answers(200, EVERYONE)),
    ("patch", "/api/v1/agents/{agent}/", {"name": ""}, answers(400, "AS")),
    ("delete", "/api/v1/agents/{agent}/", None, answers(204, "AS")),
    # Conversations and their actions: the Supervisor's; their personal data too.
    ("get", "/api/v1/contacts/", None, answers(200, EVERYONE)),
    ("get", "/api/v1/contacts/?state=queued", None, answers(200, EVERYONE)),
    ("get", "/api/v1/contacts/?sinch_contact_id=X", None, answers(200, "AS")),
    ("get", "/api/v1/contacts/{contact}/", None, answers(200, EVERYONE)),
    ("post", "/api/v1/contacts/{contact}/allocate/", {}, answers(400, "AS")),
    ("post", "/api/v1/contacts/{contact}/accept/", {}, answers(409, "AS")),
    ("post", "/api/v1/contacts/{contact}/reject/", {}, answers(409, "AS")),
    ("post", "/api/v1/contacts/{contact}/transfer/", {}, answers(400, "AS")),
    ("post", "/api/v1/contacts/{contact}/forward/", {}, answers(400, "AS")),
    ("post", "/api/v1/contacts/{contact}/end/", {}, answers(409, "AS")),
    ("post", "/api/v1/contacts/{contact}/abandon/", {}, answers(200, "AS")),
    ("get", "/api/v1/contacts/{contact}/messages/", None, answers(200, EVERYONE)),
    ("post", "/api/v1/contacts/{contact}/messages/", {}, answers(400, "AS")),
    ("get", "/api/v1/contacts/{contact}/events/", None, answers(200, EVERYONE)),
    # Callbacks: a read-only log; filtering by the customer's Sinch contact ID is personal.
    ("get", "/api/v1/callbacks/", None, answers(200, EVERYONE)),
    ("get", "/api/v1/callbacks/{callback}/", None, answers(200, EVERYONE)),
    ("get", "/api/v1/callbacks/?contact_id=X", None, answers(200, "AS")),
    # Integrations: the Integration developer's.
    ("get", "/api/v1/integrations/", None, answers(200, EVERYONE)),
    ("post", "/api/v1/integrations/", {}, answers(400, "AI")),
    ("get", "/api/v1/integrations/presets/", None, answers(200, EVERYONE)),
    ("get", "/api/v1/integrations/{integration}/", None, answers(200, EVERYONE)),
    ("patch", "/api/v1/integrations/{integration}/", {"name": ""}, answers(400, "AI")),
    ("delete", "/api/v1/integrations/{integration}/", None, answers(204, "AI")),
    ("post", "/api/v1/integrations/{integration}/copy/", {}, answers(201, "AI")),
    ("post", "/api/v1/integrations/{integration}/disable/", {}, answers(200, "AI")),
    ("post", "/api/v1/integrations/{integration}/enable/", {}, answers(200, "AI")),
    ("post", "/api/v1/integrations/{integration}/resume/", {}, answers(200, "AI")),
    ("post", "/api/v1/integrations/{integration}/test/", {"event": "x"}, answers(400, "AI")),
    (
        "post",
        "/api/v1/integrations/{integration}/test/",
        {"event": "queued", "contact": "{contact}"},
        answers(200, "A"),
    ),
    ("post", "/api/v1/integrations/{integration}/resend/", {"since": "x"}, answers(400, "AI")),
    ("get", "/api/v1/integrations/{integration}/deliveries/", None, answers(200, EVERYONE)),
    (
        "get",
        "/api/v1/integrations/{integration}/deliveries/?contact={contact}",
        None,
        answers(200, "AS"),
    ),
    # Integration versions: read with the integration, restored by who may change it.
    ("get", "/api/v1/integrations/{integration}/versions/", None, answers(200, EVERYONE)),
    ("get", "/api/v1/integrations/{integration}/versions/1/", None, answers(200, EVERYONE)),
    (
        "post",
        "/api/v1/integrations/{integration}/versions/999/restore/",
        {},
        answers(404, "AI"),
    ),
    # Starting an outbound chat is a contact action: the Supervisor's.
    ("post", "/api/v1/contacts/", {"direction": "inbound"}, answers(400, "AS")),
    # The audit trail: read by every role (it holds no secret and no personal data).
    ("get", "/api/v1/audit/", None, answers(200, EVERYONE)),
    (
        "get",
        "/api/v1/audit/?action=update&since=2020-01-01T00:00:00Z",
        None,
        answers(200, EVERYONE),
    ),
    # Moving configuration between landscapes: the Administrator's.
    ("get", "/api/v1/config/export/", None, answers(200, "A")),
    ("post", "/api/v1/config/import/?dry_run=1", {"document": 1}, answers(400, "A")),
    # The description of the API.
    ("get", "/api/schema/", None, answers(200, EVERYONE)),
]


@pytest.fixture
def rows(service: MessagingService, queue: Queue) -> dict[str, Model]:
    return one_of_each(service, queue)


def _filled(text: str, rows: dict[str, Model]) -> str:
    return text.format(**{name: row.pk for name, row in rows.items()})


def _api(letter: str) -> APIClient:
    _, key = api_token_create(user=role_user(letter))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.parametrize("letter", list(ROLE_OF))
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    MATRIX,
    ids=[f"{method} {path} {body or ''}" for method, path, body, _ in MATRIX],
)
def test_role_gets_the_answer_the_matrix_says(
    rows: dict[str, Model],
    letter: str,
    method: str,
    path: str,
    body: Any,
    expected: dict[str, int],
) -> None:
    sent = {k: _filled(v, rows) if isinstance(v, str) else v for k, v in (body or {}).items()}
    answer = getattr(_api(letter), method)(_filled(path, rows), sent or None, format="json")

    assert answer.status_code == expected[letter], answer.content[:500]


# -- what is in an answer: personal data only for roles that may see it


def _contact_answers(letter: str, rows: dict[str, Model]) -> str:
    client = _api(letter)
    contact = rows["contact"].pk
    pages = [
        f"/api/v1/contacts/{contact}/",
        "/api/v1/contacts/",
        f"/api/v1/contacts/{contact}/messages/",
        f"/api/v1/contacts/{contact}/events/",
        f"/api/v1/callbacks/{rows['callback'].pk}/",
        "/api/v1/callbacks/",
        f"/api/v1/integrations/{rows['integration'].pk}/deliveries/",
    ]
    answered = [client.get(page) for page in pages]
    assert all(a.status_code == 200 for a in answered)
    return "".join(a.content.decode() for a in answered)


@pytest.mark.parametrize("letter", ["I", "V"])
def test_roles_without_personal_data_get_it_emptied(rows: dict[str, Model], letter: str) -> None:
    said = _contact_answers(letter, rows)
    contact = _api(letter).get(f"/api/v1/contacts/{rows['contact'].pk}/").json()
    message = _api(letter).get(f"/api/v1/contacts/{rows['contact'].pk}/messages/").json()

    for personal in (PHONE, CAD_VALUE, "Hello", "01FJA8B466Y0R2GNXD78MD9SM1", "integration-secret"):
        assert personal not in said
    assert contact["source"] is None and contact["cad"] is None
    assert contact["sinch_contact_id"] is None
    assert contact["state"] == "queued" and contact["queue"] == rows["queue"].pk
    assert message["results"][0]["text"] is None


@pytest.mark.parametrize("letter", ["A", "S"])
def test_roles_with_personal_data_see_it(rows: dict[str, Model], letter: str) -> None:
    said = _contact_answers(letter, rows)

    for personal in (PHONE, CAD_VALUE, "Hello"):
        assert personal in said
    assert "integration-secret" not in said


def test_the_schema_says_which_fields_are_emptied(rows: dict[str, Model]) -> None:
    schema = _api("V").get("/api/schema/", {"format": "json"}).json()
    contact = schema["components"]["schemas"]["Contact"]["properties"]

    assert contact["source"]["nullable"] is True
    assert "personal data" in contact["source"]["description"]
