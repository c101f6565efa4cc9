"""Each role against each admin page: the answer every cell expects, and on every page a role
may open, no secret, no token and (for the roles without it) no personal data.

The pages are the admin's own (list, a row's page, add) for every registered model, and the
custom pages and buttons (setup doctor, rotation, simulator, test run, resend, copy, disable,
a contact's actions and reply). Requests are real, as a staff user whose rights come only from
their role's group.
"""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from configurator.roles import VIEWER
from configurator.tokens import api_token_create
from messaging.models import MessagingService
from queues.models import Queue
from tests.roles import CAD_VALUE, PHONE, ROLE_OF, answers, one_of_each, role_browser
from tests.sinch import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

EVERYONE = "AISV"
NOBODY = ""
SECRETS = (WEBHOOK_SECRET, "access-key-secret", "integration-secret-1")
PERSONAL = (PHONE, CAD_VALUE, "I need help with my order", "01FJA8B466Y0R2GNXD78MD9SM1")

# (method, path, expected answer by role); GETs of a page, POSTs of a button.
MATRIX: list[tuple[str, str, dict[str, int]]] = [
    ("get", "/admin/", answers(200, EVERYONE)),
    # System Management
    ("get", "/admin/messaging/messagingservice/", answers(200, EVERYONE)),
    ("get", "/admin/messaging/messagingservice/add/", answers(200, "A")),
    ("get", "/admin/messaging/messagingservice/{service}/change/", answers(200, EVERYONE)),
    ("get", "/admin/messaging/messagingservice/{service}/delete/", answers(200, "A")),
    ("get", "/admin/messaging/messagingservice/{service}/doctor/", answers(200, EVERYONE)),
    ("post", "/admin/messaging/messagingservice/{service}/doctor/", answers(302, "A")),
    (
        "get",
        "/admin/messaging/messagingservice/{service}/rotate-webhook-secret/",
        answers(200, "A"),
    ),
    ("get", "/admin/messaging/messagingservice/{service}/simulate/", answers(200, "A")),
    ("get", "/admin/integrations/integration/", answers(200, EVERYONE)),
    ("get", "/admin/integrations/integration/add/", answers(200, "AI")),
    ("get", "/admin/integrations/integration/{integration}/change/", answers(200, EVERYONE)),
    ("get", "/admin/integrations/integration/{integration}/delete/", answers(200, "AI")),
    ("post", "/admin/integrations/integration/{integration}/copy/", answers(302, "AI")),
    ("post", "/admin/integrations/integration/{integration}/disable/", answers(302, "AI")),
    ("post", "/admin/integrations/integration/{integration}/enable/", answers(302, "AI")),
    ("post", "/admin/integrations/integration/{integration}/resume/", answers(302, "AI")),
    ("get", "/admin/integrations/integration/{integration}/test/", answers(200, "AI")),
    ("get", "/admin/integrations/integration/{integration}/resend/", answers(200, "AI")),
    # Queue Management
    ("get", "/admin/queues/queue/", answers(200, EVERYONE)),
    ("get", "/admin/queues/queue/add/", answers(200, "AS")),
    ("get", "/admin/queues/queue/{queue}/change/", answers(200, EVERYONE)),
    # Conversations
    ("get", "/admin/conversations/contact/", answers(200, EVERYONE)),
    ("get", "/admin/conversations/contact/add/", answers(403, NOBODY)),
    # Filtering by a customer's identity is no filter of the lists, for anyone.
    ("get", "/admin/conversations/contact/?source={phone}", answers(400, EVERYONE)),
    ("get", "/admin/conversations/contact/?sinch_contact_id__exact=X", answers(400, EVERYONE)),
    ("get", "/admin/messaging/callback/?contact_id=X", answers(400, EVERYONE)),
    ("get", "/admin/conversations/contact/{contact}/change/", answers(200, EVERYONE)),
    ("post", "/admin/conversations/contact/{contact}/act/accepted/", answers(302, "AS")),
    ("post", "/admin/conversations/contact/{contact}/reply/", answers(302, "AS")),
    ("get", "/admin/conversations/message/", answers(200, "AS")),
    ("get", "/admin/conversations/message/{message}/change/", answers(200, "AS")),
    ("get", "/admin/conversations/contactevent/", answers(200, "AS")),
    ("get", "/admin/conversations/contactevent/{event}/change/", answers(200, "AS")),
    ("get", "/admin/conversations/agent/", answers(200, EVERYONE)),
    ("get", "/admin/conversations/agent/add/", answers(200, "AS")),
    ("get", "/admin/conversations/agent/{agent}/change/", answers(200, EVERYONE)),
    ("get", "/admin/messaging/callback/", answers(200, EVERYONE)),
    ("get", "/admin/messaging/callback/{callback}/change/", answers(200, EVERYONE)),
    ("get", "/admin/integrations/delivery/", answers(200, EVERYONE)),
    ("get", "/admin/integrations/delivery/{delivery}/change/", answers(200, EVERYONE)),
    # Users and access, and the operator's tables: the Administrator's.
    ("get", "/admin/auth/user/", answers(200, "A")),
    ("get", "/admin/auth/user/add/", answers(200, "A")),
    ("get", "/admin/auth/group/", answers(200, "A")),
    ("get", "/admin/configurator/apitoken/", answers(200, "A")),
    ("get", "/admin/configurator/apitoken/add/", answers(200, "A")),
    ("get", "/admin/configurator/workerheartbeat/", answers(200, EVERYONE)),
    ("get", "/admin/django_tasks_database/dbtaskresult/", answers(200, "A")),
    ("get", "/admin/axes/accessattempt/", answers(200, "A")),
    # The audit trail and objects' own history: every role reads them.
    ("get", "/admin/configurator/auditentry/", answers(200, EVERYONE)),
    ("get", "/admin/integrations/integration/{integration}/history/", answers(200, EVERYONE)),
    ("get", "/admin/queues/queue/{queue}/history/", answers(200, EVERYONE)),
    # Integration versions: read with the integration, restored by who may change it.
    ("get", "/admin/integrations/integration/{integration}/versions/", answers(200, EVERYONE)),
    ("get", "/admin/integrations/integration/{integration}/versions/1/", answers(200, EVERYONE)),
    (
        "get",
        "/admin/integrations/integration/{integration}/versions/1/restore/",
        answers(200, "AI"),
    ),
    # Starting an outbound chat: the Supervisor's.
    ("get", "/admin/conversations/contact/start/", answers(200, "AS")),
    # Moving configuration between landscapes: the Administrator's.
    ("get", "/admin/configurator/configurationtransfer/", answers(200, "A")),
]


@pytest.fixture
def rows(service: MessagingService, queue: Queue) -> dict[str, Any]:
    found = one_of_each(service, queue)
    # A token of somebody else's, whose key must be on no page.
    owner = User.objects.create_user("automation", is_staff=True)
    _token, found["token_key"] = api_token_create(user=owner)  # type: ignore[assignment]
    return found


def _filled(text: str, rows: dict[str, Any]) -> str:
    values = {name: getattr(row, "pk", row) for name, row in rows.items()}
    return text.format(phone=PHONE, **values)


@pytest.mark.parametrize("letter", list(ROLE_OF))
@pytest.mark.parametrize(
    ("method", "path", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX]
)
def test_role_gets_the_answer_the_matrix_says_and_sees_nothing_it_may_not(
    rows: dict[str, Any], letter: str, method: str, path: str, expected: dict[str, int]
) -> None:
    body = {"text": ""} if path.endswith("/reply/") else {}
    answer = getattr(role_browser(letter), method)(_filled(path, rows), body)

    assert answer.status_code == expected[letter]
    page = html.unescape(answer.content.decode())
    for secret in (*SECRETS, str(rows["token_key"])):
        assert secret not in page
    if letter in "IV":
        for personal in PERSONAL:
            assert personal not in page, personal


def test_a_viewers_contact_page_says_what_happened_without_who(rows: dict[str, Any]) -> None:
    page = role_browser("V").get(f"/admin/conversations/contact/{rows['contact'].pk}/change/")
    text = page.content.decode()

    assert rows["queue"].name in text  # state, queue, times are shown
    assert "attached data:" not in text.lower()
    assert "need the permission to view customers" in html.unescape(text)
    assert "Integration deliveries" in text


def test_a_viewer_is_not_offered_the_buttons_of_the_roles_that_act(rows: dict[str, Any]) -> None:
    browser = role_browser("V")
    contact = browser.get(f"/admin/conversations/contact/{rows['contact'].pk}/change/")
    integration = browser.get(f"/admin/integrations/integration/{rows['integration'].pk}/change/")

    assert "/reply/" not in contact.content.decode()
    assert "/copy/" not in integration.content.decode()
    assert Group.objects.get(name=VIEWER).user_set.count() == 1


@pytest.mark.parametrize("letter", list(ROLE_OF))
def test_only_roles_with_personal_data_find_rows_by_a_customers_identity(
    rows: dict[str, Any], letter: str
) -> None:
    browser = role_browser(letter)
    contact = rows["contact"].pk
    by_phone = browser.get("/admin/conversations/contact/", {"q": PHONE}).content.decode()
    by_sinch_contact = browser.get(
        "/admin/messaging/callback/", {"q": "01FJA8B466Y0R2GNXD78MD9SM1"}
    ).content.decode()
    callback_link = f"/admin/messaging/callback/{rows['callback'].pk}/change/"

    found = (f"/admin/conversations/contact/{contact}/change/" in by_phone) and (
        callback_link in by_sinch_contact
    )
    assert found is (letter in "AS")


@pytest.mark.parametrize("letter", list(ROLE_OF))
def test_bulk_actions_are_offered_to_the_roles_that_may_take_them(
    rows: dict[str, Any], letter: str
) -> None:
    browser = role_browser(letter)
    offered = {
        "send_again": browser.get("/admin/integrations/delivery/"),
        "process_again": browser.get("/admin/messaging/callback/"),
        "disable_selected": browser.get("/admin/integrations/integration/"),
        "revoke_selected": browser.get("/admin/configurator/apitoken/"),
    }
    expected = {
        "send_again": "AI",
        "process_again": "AS",
        "disable_selected": "AI",
        "revoke_selected": "A",
    }

    for action, page in offered.items():
        shown = f'value="{action}"' in page.content.decode()
        assert shown is (letter in expected[action]), action
