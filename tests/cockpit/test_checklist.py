"""The setup checklist ticks itself from the data, step by step in seed 001's order."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from cockpit import checklist
from messaging.models import DoctorRun, ServiceAuthentication
from tests.factories import make_agent, make_integration, make_queue, make_service, outbound
from tests.sinch import fixture_body, post_callback

pytestmark = pytest.mark.django_db

ORDER = ["service", "webhook", "queues", "agent", "callback", "integration"]


def _steps(client: Client) -> dict[str, bool]:
    page = client.get("/admin/").content.decode()
    found = re.findall(r'id="step-([a-z]+)" data-done="(true|false)"', page)
    assert [key for key, _ in found] == ORDER
    return {key: done == "true" for key, done in found}


def _step(user: User, key: str) -> checklist.Step:
    return next(step for step in checklist.setup_checklist(user) if step.key == key)


def _block(client: Client, key: str) -> str:
    page = client.get("/admin/").content.decode()
    start = page.index(f'id="step-{key}"')
    return html.unescape(page[start : page.index("</li>\n", page.index("</ul>", start))])


def test_ticks_each_step_as_the_setup_goes_on(admin_client_: Client, staff_user: User) -> None:
    assert _steps(admin_client_) == dict.fromkeys(ORDER, False)
    text = _block(admin_client_, "service")
    assert "No messaging service yet" in text
    assert 'href="/admin/messaging/messagingservice/add/"' in text

    app = "01CHECKLIST0000000000APP1"
    service = make_service(app_id=app)
    assert _steps(admin_client_) == {**dict.fromkeys(ORDER, False), "service": True}
    webhook = _block(admin_client_, "webhook")
    assert f"“{service.name}”: not checked yet" in webhook
    assert f'href="/admin/messaging/messagingservice/{service.pk}/doctor/"' in webhook
    queues = _block(admin_client_, "queues")
    assert f"App {app} of “{service.name}” has no queue" in queues
    assert f'href="/admin/queues/queue/add/?channel_type=chat&amp;addresses={app}%40"' in (
        admin_client_.get("/admin/").content.decode()
    )

    DoctorRun.objects.create(service=service, webhook_ok=False, checks=[])
    assert "run it with Fix" in _block(admin_client_, "webhook")
    DoctorRun.objects.create(
        service=service, webhook_ok=True, ran_at=timezone.now() + timedelta(seconds=1)
    )
    assert _steps(admin_client_)["webhook"] is True

    make_queue("Support", [f"{app}@whatsapp"])
    assert _steps(admin_client_)["queues"] is True
    make_agent("Ann")
    assert _steps(admin_client_)["agent"] is True
    response = post_callback(Client(), service.pk, fixture_body("message_inbound"))
    assert response.status_code == 200
    assert _steps(admin_client_)["callback"] is True
    # Every step but the optional one done: the checklist folds away, its summary says so.
    page = admin_client_.get("/admin/").content.decode()
    assert "setup-done" in page and "<details open>" not in page
    assert "5 of 6 done" in page

    make_integration()
    assert _steps(admin_client_) == dict.fromkeys(ORDER, True)
    assert "6 of 6 done" in admin_client_.get("/admin/").content.decode()


def test_the_doctors_last_run_decides_and_an_unasked_sinch_says_so(staff_user: User) -> None:
    service = make_service()
    DoctorRun.objects.create(service=service, webhook_ok=True)
    DoctorRun.objects.create(service=service, webhook_ok=None, ran_at=timezone.now() + timedelta(1))

    step = _step(staff_user, "webhook")

    assert not step.done
    assert "could not ask Sinch" in step.missing[0].text


def test_webhook_step_needs_every_ready_service_confirmed(staff_user: User) -> None:
    services = [make_service(name=f"Service {n}") for n in range(5)]
    DoctorRun.objects.create(service=services[0], webhook_ok=True)

    step = _step(staff_user, "webhook")

    assert not step.done
    # Three named, the fourth counted.
    assert [m.text.split("”")[0] for m in step.missing[:3]] == [
        "“Service 1",
        "“Service 2",
        "“Service 3",
    ]
    assert step.missing[3].text == "and 1 more messaging service."


def test_a_service_without_outbound_entries_is_not_ready(staff_user: User) -> None:
    service = make_service(name="Half done")
    ServiceAuthentication.objects.filter(service=service, direction="outbound").delete()

    step = _step(staff_user, "service")

    assert not step.done
    assert step.missing[0].text.startswith("“Half done” has no outbound entry")
    assert step.missing[0].link is not None
    assert step.missing[0].link.url == f"/admin/messaging/messagingservice/{service.pk}/change/"
    assert not _step(staff_user, "queues").done


def test_queue_step_names_each_app_without_a_queue(staff_user: User) -> None:
    apps = [f"01APPQUEUE{n:015d}" for n in range(5)]
    make_service(authentications=[outbound(app) for app in apps])
    make_queue(addresses=[f"{apps[0]}@telegram"])

    step = _step(staff_user, "queues")

    assert not step.done
    assert [m.text.split(" ")[1] for m in step.missing[:3]] == apps[1:4]
    assert step.missing[3].text == "and 1 more app without a queue."


def test_steps_follow_the_view_permissions(db: None) -> None:
    from django.contrib.auth.models import Permission

    user = User.objects.create_user("supervisor", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_agent", "view_callback"])
    )
    user = User.objects.get(pk=user.pk)

    steps = checklist.setup_checklist(user)

    assert [step.key for step in steps] == ["agent", "callback"]
    # No add permission: the step says what is missing but offers no add link.
    assert steps[0].link is None and steps[0].missing[0].link is None


def test_the_queues_step_asks_for_each_channel_the_doctor_found(admin_client_: Client) -> None:
    app = "01CHANNELS000000000000APP1"
    service = make_service(app_id=app)
    make_queue("Support", [f"{app}@whatsapp"])
    assert _steps(admin_client_)["queues"] is True
    DoctorRun.objects.create(
        service=service,
        webhook_ok=True,
        checks=[
            {
                "code": "channel_credentials",
                "name": f"Channels of app {app}",
                "status": "ok",
                "detail": "",
                "app_id": app,
                "channels": ["TELEGRAM", "WHATSAPP"],
            }
        ],
    )
    assert _steps(admin_client_)["queues"] is False
    block = _block(admin_client_, "queues")
    assert f"App {app} has TELEGRAM set up in Sinch" in block
    assert f"addresses={app}%40telegram" in block

    make_queue("Telegram", [f"{app}@telegram"])
    assert _steps(admin_client_)["queues"] is True
