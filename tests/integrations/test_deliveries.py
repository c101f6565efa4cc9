"""What a person sees and does: the delivery log (API and admin), resending, and test runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from configurator.tokens import api_token_create
from conversations.models import Contact
from integrations.models import Delivery, Integration
from integrations.testrun import sample_contact
from queues.models import Queue
from tests.factories import make_contact, make_integration, make_queue
from tests.httpsink import HttpsSink, SinkAnswer
from tests.taskrunner import run_ready_tasks

pytestmark = pytest.mark.django_db

API_KEY = "api-key-secret-77aa"


@pytest.fixture
def hooked(https_sink: HttpsSink, queue: Queue) -> Integration:
    """A background integration on Queued that sends the API key in a header."""
    return make_integration(
        "CRM events",
        queues=[queue],
        endpoint_url=f"{https_sink.url}/events/{{event}}",
        events=["queued", "ended"],
        configuration={
            "request": {
                "method": "POST",
                "headers": {"x-api-key": "{authentications.api-key}"},
                "body": {"event": "{event}", "id": "{contact.id}"},
            }
        },
        authentications={"api-key": API_KEY},
    )


def _deliveries_url(integration: Integration) -> str:
    return f"/api/v1/integrations/{integration.pk}/deliveries/"


# -- API: the log


def test_api_lists_deliveries_with_masked_request(
    api: APIClient, hooked: Integration, queue: Queue, django_assert_max_num_queries: Any
) -> None:
    contact = make_contact(queue)
    make_contact(queue, identity="46700000002")
    run_ready_tasks()

    with django_assert_max_num_queries(8):
        response = api.get(_deliveries_url(hooked))

    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 2
    row = next(r for r in rows if r["contact"] == contact.pk)
    assert row["event"] == "queued"
    assert row["mode"] == "background"
    assert row["status"] == "succeeded"
    assert row["attempt"] == 1
    assert row["status_code"] == 200
    assert row["request"]["headers"]["x-api-key"] == "********"
    assert row["request"]["body"] == {"event": "queued", "id": contact.pk}
    assert API_KEY not in response.content.decode()


def test_api_filters_deliveries(api: APIClient, hooked: Integration, queue: Queue) -> None:
    contact = make_contact(queue)
    make_contact(queue, identity="46700000002")
    run_ready_tasks()

    by_contact = api.get(_deliveries_url(hooked), {"contact": contact.pk.lower()}).json()
    assert [r["contact"] for r in by_contact["results"]] == [contact.pk]
    assert api.get(_deliveries_url(hooked), {"status": "failed"}).json()["results"] == []


def test_api_resends_failed_deliveries_since_a_time(
    api: APIClient, hooked: Integration, queue: Queue, https_sink: HttpsSink
) -> None:
    https_sink.answer(SinkAnswer(status=400))
    make_contact(queue)
    run_ready_tasks()
    failed = Delivery.objects.get(status="failed")

    since = (timezone.now() - timedelta(minutes=5)).isoformat()
    response = api.post(
        f"/api/v1/integrations/{hooked.pk}/resend/", {"since": since}, format="json"
    )
    run_ready_tasks()

    assert response.status_code == 200, response.content
    assert [r["previous"] for r in response.json()] == [failed.pk]
    assert Delivery.objects.filter(status="succeeded", previous=failed).exists()


def test_api_resend_needs_since_or_ids(api: APIClient, hooked: Integration) -> None:
    response = api.post(f"/api/v1/integrations/{hooked.pk}/resend/", {}, format="json")
    assert response.status_code == 400
    assert "since" in response.json()


# -- API: test runs


def test_api_dry_test_run_with_a_sample_contact(
    api: APIClient, hooked: Integration, https_sink: HttpsSink, queue: Queue
) -> None:
    response = api.post(
        f"/api/v1/integrations/{hooked.pk}/test/", {"event": "queued"}, format="json"
    )

    assert response.status_code == 200, response.content
    run = response.json()
    assert run["live"] is False
    assert run["contact"].startswith("SAMPLE")
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["match"]["outcome"] == "ok"
    assert steps["request"]["data"]["url"] == f"{https_sink.url}/events/queued"
    assert steps["request"]["data"]["headers"]["x-api-key"] == "********"
    assert steps["request"]["data"]["body"]["id"].startswith("SAMPLE")
    assert steps["response"]["outcome"] == "info"
    assert https_sink.requests == []
    assert API_KEY not in response.content.decode()


def test_a_test_run_says_why_an_integration_would_not_fire(
    api: APIClient, hooked: Integration
) -> None:
    def match(event: str) -> str:
        response = api.post(
            f"/api/v1/integrations/{hooked.pk}/test/", {"event": event}, format="json"
        )
        assert response.status_code == 200, response.content
        steps = {s["name"]: s for s in response.json()["steps"]}
        assert steps["match"]["outcome"] == "failed"
        return str(steps["match"]["detail"])

    assert match("accepted") == "would not fire: Accepted is not one of its events"
    Integration.objects.filter(pk=hooked.pk).update(
        enabled=False, paused_at=timezone.now(), paused_reason=""
    )
    assert match("queued") == "would not fire: it is disabled; it is paused"


def test_a_sample_run_of_an_outbound_integration_uses_an_outbound_sample(
    api: APIClient, https_sink: HttpsSink, queue: Queue
) -> None:
    outbound = make_integration(
        queues=[queue], direction="outbound", events=["accepted"], endpoint_url=https_sink.url
    )
    response = api.post(
        f"/api/v1/integrations/{outbound.pk}/test/", {"event": "accepted"}, format="json"
    )

    steps = {s["name"]: s for s in response.json()["steps"]}
    assert steps["match"]["outcome"] == "ok", steps["match"]
    assert sample_contact(outbound)["direction"] == "outbound"


def test_api_live_test_run_shows_what_would_change_and_changes_nothing(
    api: APIClient, https_sink: HttpsSink, queue: Queue
) -> None:
    vip = make_queue("VIP")
    integration = make_integration(
        "router",
        queues=[queue],
        endpoint_url=f"{https_sink.url}/route",
        events=["received"],
        configuration={
            "request": {"method": "GET"},
            "response": {
                "set": {"queue": {"id": "{response.body.queue}"}, "priority": 5},
                "save": {"segment": "{response.body.segment}"},
            },
        },
    )
    https_sink.answer(SinkAnswer(body={"queue": 0}))  # the contact's own routing call fails
    contact = make_contact(queue)
    before = Contact.objects.filter(pk=contact.pk).values().get()
    deliveries_before = Delivery.objects.count()
    https_sink.answer(SinkAnswer(body={"queue": vip.pk, "segment": "gold"}))

    response = api.post(
        f"/api/v1/integrations/{integration.pk}/test/",
        {"event": "received", "contact": contact.pk, "live": True},
        format="json",
    )

    assert response.status_code == 200, response.content
    steps = {s["name"]: s for s in response.json()["steps"]}
    assert steps["response"]["outcome"] == "ok"
    assert steps["response"]["data"]["body"] == {"queue": vip.pk, "segment": "gold"}
    assert steps["changes"]["data"] == {
        "set": {"queue": "VIP", "priority": 5},
        "save": {"segment": "gold"},
    }
    assert Contact.objects.filter(pk=contact.pk).values().get() == before
    assert Delivery.objects.count() == deliveries_before


def test_api_test_run_says_why_it_would_not_fire(
    api: APIClient, hooked: Integration, queue: Queue
) -> None:
    response = api.post(
        f"/api/v1/integrations/{hooked.pk}/test/", {"event": "allocated"}, format="json"
    )

    match = response.json()["steps"][0]
    assert match["outcome"] == "failed"
    assert "Allocated is not one of its events" in match["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": "closed"}, "event"),
        ({"event": "queued", "contact": "NOPE"}, "contact"),
        ({}, "event"),
    ],
)
def test_api_test_run_refuses_bad_input(
    api: APIClient, hooked: Integration, body: dict[str, Any], field: str
) -> None:
    response = api.post(f"/api/v1/integrations/{hooked.pk}/test/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_api_test_and_resend_need_change_permission(hooked: Integration) -> None:
    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_integration"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=viewer)[1]}")

    assert client.get(_deliveries_url(hooked)).status_code == 200
    test = client.post(f"/api/v1/integrations/{hooked.pk}/test/", {"event": "queued"})
    resend = client.post(f"/api/v1/integrations/{hooked.pk}/resend/", {"since": "2026-01-01"})
    assert (test.status_code, resend.status_code) == (403, 403)


# -- Admin


def test_admin_delivery_log_and_detail_show_no_secret(
    admin_client_: Client, hooked: Integration, queue: Queue
) -> None:
    make_contact(queue)
    run_ready_tasks()
    delivery = Delivery.objects.get()

    listing = admin_client_.get(
        reverse("admin:integrations_delivery_changelist"), {"integration__id__exact": hooked.pk}
    )
    detail = admin_client_.get(reverse("admin:integrations_delivery_change", args=[delivery.pk]))

    assert listing.status_code == detail.status_code == 200
    assert "CRM events" in listing.content.decode()
    page = detail.content.decode()
    assert "x-api-key" in page and "********" in page
    assert API_KEY not in listing.content.decode() + page


def test_admin_contact_page_lists_its_deliveries(
    admin_client_: Client, hooked: Integration, queue: Queue
) -> None:
    contact = make_contact(queue)
    run_ready_tasks()

    page = admin_client_.get(reverse("admin:conversations_contact_change", args=[contact.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Integration deliveries" in text
    assert "CRM events" in text
    assert API_KEY not in text


def test_admin_send_again_action(
    admin_client_: Client, hooked: Integration, queue: Queue, https_sink: HttpsSink
) -> None:
    https_sink.answer(SinkAnswer(status=404))
    make_contact(queue)
    run_ready_tasks()
    failed = Delivery.objects.get(status="failed")

    response = admin_client_.post(
        reverse("admin:integrations_delivery_changelist"),
        {"action": "send_again", "_selected_action": [failed.pk]},
        follow=True,
    )
    run_ready_tasks()

    assert "1 delivery(ies) will be sent again" in response.content.decode()
    assert Delivery.objects.filter(previous=failed, status="succeeded").exists()


def test_admin_resend_since_view(
    admin_client_: Client, hooked: Integration, queue: Queue, https_sink: HttpsSink
) -> None:
    https_sink.answer(SinkAnswer(status=404), SinkAnswer(status=404))
    make_contact(queue)
    make_contact(queue, identity="46700000002")
    run_ready_tasks()
    url = reverse("admin:integrations_integration_resend", args=[hooked.pk])

    form = admin_client_.get(url)
    since = timezone.localtime() - timedelta(hours=1)
    response = admin_client_.post(url, {"since": since.strftime("%Y-%m-%dT%H:%M")}, follow=True)

    assert form.status_code == 200
    assert "2 failed delivery(ies) since" in response.content.decode()
    assert Delivery.objects.filter(previous__isnull=False).count() == 2


def test_admin_test_view_runs_a_dry_test(
    admin_client_: Client, hooked: Integration, https_sink: HttpsSink
) -> None:
    url = reverse("admin:integrations_integration_test", args=[hooked.pk])

    assert admin_client_.get(url).status_code == 200
    response = admin_client_.post(url, {"event": "queued", "contact": ""})

    text = response.content.decode()
    assert response.status_code == 200
    assert "Dry run" in text
    assert f"{https_sink.url}/events/queued" in text
    assert API_KEY not in text
    assert https_sink.requests == []


def test_admin_test_view_names_an_unknown_contact(
    admin_client_: Client, hooked: Integration
) -> None:
    url = reverse("admin:integrations_integration_test", args=[hooked.pk])
    response = admin_client_.post(url, {"event": "queued", "contact": "nope"})
    assert "No contact has the ID “NOPE”" in response.content.decode()


def test_admin_list_flags_a_paused_integration(admin_client_: Client, hooked: Integration) -> None:
    Integration.objects.filter(pk=hooked.pk).update(
        paused_at=timezone.now(), paused_reason="20 deliveries in a row failed"
    )

    page = admin_client_.get(reverse("admin:integrations_integration_changelist"))

    text = page.content.decode()
    assert "Paused since" in text and "20 deliveries in a row failed" in text


def test_api_shows_a_pause_and_enable_lifts_it(api: APIClient, hooked: Integration) -> None:
    Integration.objects.filter(pk=hooked.pk).update(
        paused_at=timezone.now(),
        paused_reason="20 deliveries in a row failed",
        consecutive_failures=20,
    )
    shown = api.get(f"/api/v1/integrations/{hooked.pk}/").json()
    # Paused, and still enabled: the pause is lifted by resume/ (and by enable/, as before).
    assert (shown["enabled"], shown["paused_reason"]) == (True, "20 deliveries in a row failed")

    enabled = api.post(f"/api/v1/integrations/{hooked.pk}/enable/").json()

    assert (enabled["enabled"], enabled["paused_at"]) == (True, None)


def test_api_resume_lifts_a_pause_and_keeps_a_disabled_integration_disabled(
    api: APIClient, hooked: Integration
) -> None:
    Integration.objects.filter(pk=hooked.pk).update(
        enabled=False, paused_at=timezone.now(), paused_reason="failed", consecutive_failures=20
    )

    resumed = api.post(f"/api/v1/integrations/{hooked.pk}/resume/")

    assert resumed.status_code == 200
    shown = resumed.json()
    assert (shown["enabled"], shown["paused_at"], shown["paused_reason"]) == (False, None, "")
    hooked.refresh_from_db()
    assert hooked.consecutive_failures == 0
    assert api.post(f"/api/v1/integrations/{hooked.pk}/resume/").status_code == 200


def test_a_delivery_page_is_titled_in_words_and_read_only(
    admin_client_: Client, queue: Queue
) -> None:
    contact = make_contact(queue)
    integration = make_integration("CRM sync", queues=[queue], events=["accepted"])
    event = contact.events.get(event="queued")
    first = Delivery.objects.create(
        integration=integration,
        contact=contact,
        contact_event=event,
        event="accepted",
        mode="background",
        status="retrying",
    )
    second = Delivery.objects.create(
        integration=integration,
        contact=contact,
        contact_event=event,
        event="accepted",
        mode="background",
        status="failed",
        attempt=2,
        previous=first,
    )
    url = reverse("admin:integrations_delivery_change", args=[second.pk])

    html = admin_client_.get(url).content.decode()
    posted = admin_client_.post(url, {"status": "succeeded"})

    title = "CRM sync — Accepted — failed (attempt 2)"
    assert str(second) == title
    assert f"<title>{title} | View delivery |" in html
    assert f"&rsaquo; {title}\n</div>" in html  # the breadcrumb
    assert "CRM sync — Accepted — failed, retry scheduled (attempt 1)" in html  # `previous`
    for button in ('name="_save"', 'name="_continue"', 'name="_addanother"'):
        assert button not in html
    assert posted.status_code == 403
    second.refresh_from_db()
    assert second.status == "failed"
