"""Every admin page that takes an object's ID in its path answers 404 to an ID that is none."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/messaging/messagingservice/abc/doctor/",
    "/admin/messaging/messagingservice/abc/simulate/",
    "/admin/messaging/messagingservice/abc/rotate-webhook-secret/",
    "/admin/integrations/integration/abc/versions/",
    "/admin/integrations/integration/abc/versions/1/",
    "/admin/integrations/integration/abc/versions/1/restore/",
    "/admin/integrations/integration/abc/test/",
    "/admin/integrations/integration/abc/resend/",
    "/admin/integrations/integration/abc/history/",
    "/admin/queues/queue/abc/history/",
    "/admin/conversations/contact/nope/reply/",
    "/admin/conversations/contact/nope/history/",
]


@pytest.mark.parametrize("page", PAGES)
def test_an_id_that_is_no_objects_is_not_found(admin_client_: Client, page: str) -> None:
    answer = admin_client_.get(page)

    assert answer.status_code in (302, 404, 405), answer.status_code
    if answer.status_code == 302:  # Django's admin: "doesn't exist", back to the list
        assert "/admin/" in answer["Location"]
