"""The setup doctor against a fake Conversation API on 127.0.0.1: each check, the fix, the API
and the admin page."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from configurator.secrets import MASK
from configurator.tokens import api_token_create
from messaging import doctor, services
from messaging.doctor import doctor_run, webhook_url_problem
from messaging.models import Callback, DoctorRun, MessagingService
from messaging.sinch import client
from tests.factories import inbound, make_queue, make_service, outbound
from tests.fakesinch import FakeSinch, sinch_error
from tests.sinch import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

APP = "01E4556565565ERKYDOC1"
APP2 = "01E4556565565ERKYDOC2"
KEY_ID = "3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11"
KEY_SECRET = "access-key-secret"  # what tests.factories.outbound stores
PUBLIC = "https://configurator.example.com"
TRIGGERS = ["MESSAGE_DELIVERY", "MESSAGE_INBOUND"]
NEW_SECRET = "rotated-webhook-secret-42"


@pytest.fixture(autouse=True)
def public_base_url(settings: Any) -> None:
    settings.PUBLIC_BASE_URL = PUBLIC


@pytest.fixture
def service(db: None) -> MessagingService:
    return make_service(app_id=APP, triggers=TRIGGERS)


@pytest.fixture
def fake(fake_sinch: FakeSinch) -> FakeSinch:
    """The fake Sinch with the app set up as seed 001 asks (Dispatch, WhatsApp)."""
    fake_sinch.add_app(APP, channels=("WHATSAPP", "SMS"))
    return fake_sinch


def url_of(service: MessagingService) -> str:
    return f"{PUBLIC}/webhooks/sinch/{service.pk}/"


def connect(fake: FakeSinch, service: MessagingService, **fields: Any) -> str:
    """The webhook as an administrator would have set it in Sinch's dashboard."""
    target = fields.pop("target", url_of(service))
    values: dict[str, Any] = {"triggers": TRIGGERS, "secret": WEBHOOK_SECRET, **fields}
    return fake.add_webhook(APP, target, **values)


def a_callback(service: MessagingService, app_id: str = APP, **fields: Any) -> Callback:
    n = Callback.objects.count() + 1
    values: dict[str, Any] = {"trigger": "MESSAGE_INBOUND", **fields}
    return Callback.objects.create(
        service=service,
        app_id=app_id,
        nonce=f"nonce-{n}",
        signed_at=timezone.now(),
        raw_body=b"{}",
        dedupe_key=f"key-{n}",
        **values,
    )


def check(run: DoctorRun, code: str, app_id: str | None = None) -> dict[str, str]:
    [found] = [
        c for c in run.checks if c["code"] == code and (app_id is None or c.get("app_id") == app_id)
    ]
    return found


def statuses(run: DoctorRun) -> dict[str, str]:
    return {f"{c['code']}:{c.get('app_id', '')}": c["status"] for c in run.checks}


def no_secret_in(*values: Any) -> None:
    text = json.dumps(values, default=str)
    for secret in (WEBHOOK_SECRET, NEW_SECRET, KEY_SECRET):
        assert secret not in text


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- everything right ---------------------------------------------------------------------


def test_a_connected_service_is_all_ok(fake: FakeSinch, service: MessagingService) -> None:
    make_queue("Support", [f"{APP}@whatsapp"])
    connect(fake, service)
    a_callback(service)

    run = doctor_run(service=service, fix=False, ran_by="admin")

    assert [c["code"] for c in run.checks] == [
        "webhook_url",
        "access_key",
        "app",
        "processing_mode",
        "channel_credentials",
        "webhook",
        "last_callback",
    ]
    assert {c["status"] for c in run.checks} == {"ok"}, run.checks
    assert run.webhook_ok is True
    assert run.fixed == []
    assert (run.ran_by, run.fix) == ("admin", False)
    assert "WHATSAPP (Support)" in check(run, "channel_credentials")["detail"]
    assert "its secret is the stored one" in check(run, "webhook")["detail"]
    assert f"from app {APP}" in check(run, "last_callback")["detail"]
    # One token, then the app and its webhooks with it; nothing written to Sinch.
    [token] = fake.token_requests
    assert token.basic_credentials == (KEY_ID, KEY_SECRET)
    assert [(r.method, r.path) for r in fake.api_requests] == [
        ("GET", f"/v1/projects/{service.project_id}/apps/{APP}"),
        ("GET", f"/v1/projects/{service.project_id}/apps/{APP}/webhooks"),
    ]
    assert {r.bearer_token for r in fake.api_requests} == {fake.issued_tokens[0]}
    no_secret_in(run.checks, run.fixed)


def test_a_basic_auth_service_sends_its_key_and_needs_no_token(
    fake: FakeSinch, service: MessagingService
) -> None:
    services.messaging_service_update(service=service, auth_method="basic")
    connect(fake, service)

    run = doctor_run(service=service, fix=False)

    assert "access_key:" not in statuses(run)
    assert fake.token_requests == []
    assert {r.basic_credentials for r in fake.api_requests} == {(KEY_ID, KEY_SECRET)}
    assert run.webhook_ok is True


# --- access keys and apps -----------------------------------------------------------------


def test_a_refused_key_is_an_error_in_sinchs_words(
    fake: FakeSinch, service: MessagingService
) -> None:
    fake.script_token(401, {"error": "invalid_client", "error_description": "Bad client secret"})

    run = doctor_run(service=service, fix=True)

    key = check(run, "access_key")
    assert key["status"] == "error"
    assert "401 invalid_client: Bad client secret" in key["detail"]
    assert f"Check the access key {KEY_ID} and its secret" in key["detail"]
    app = check(run, "app", APP)
    assert app["status"] == "error"
    assert "Not checked: Sinch issued no access token" in app["detail"]
    assert fake.api_requests == []
    assert run.webhook_ok is None
    no_secret_in(run.checks)


def test_an_unknown_app_is_an_error_that_says_where_to_look(
    fake_sinch: FakeSinch, service: MessagingService
) -> None:
    run = doctor_run(service=service, fix=False)

    app = check(run, "app", APP)
    assert app["status"] == "error"
    assert f"404 NOT_FOUND: App {APP} not found" in app["detail"]
    assert "Check the app ID of the outbound entry" in app["detail"]
    assert "processing_mode:" + APP not in statuses(run)
    assert run.webhook_ok is None


@pytest.mark.parametrize(
    ("status", "advice"),
    [
        (403, "the key must belong to project"),
        (429, "run the doctor again in a minute"),
        (503, "Sinch had a problem of its own"),
    ],
)
def test_sinch_refusing_the_app_is_an_error(
    fake: FakeSinch, service: MessagingService, status: int, advice: str
) -> None:
    fake.script_api("get_app", status, sinch_error(status, "Nope", "SOMETHING"))

    run = doctor_run(service=service, fix=False)

    app = check(run, "app", APP)
    assert (app["status"], f"Sinch answered {status} SOMETHING: Nope" in app["detail"]) == (
        "error",
        True,
    )
    assert advice in app["detail"]


def test_an_unreachable_sinch_is_asked_once(fake_sinch: FakeSinch, settings: Any, db: None) -> None:
    service = make_service(
        authentications=[outbound(APP), outbound(APP2), inbound(triggers=TRIGGERS)]
    )
    services.messaging_service_update(service=service, auth_method="basic")
    settings.SINCH_API_ORIGIN = f"http://127.0.0.1:{closed_port()}"

    run = doctor_run(service=service, fix=True)

    first, second = check(run, "app", APP), check(run, "app", APP2)
    assert first["status"] == second["status"] == "error"
    assert "Sinch could not be reached at 127.0.0.1" in first["detail"]
    assert "Check that this server can reach Sinch" in first["detail"]
    assert second["detail"].startswith("Not asked: Sinch could not be reached earlier")
    assert run.webhook_ok is None


def test_a_slow_sinch_ends_within_the_doctors_time(
    fake: FakeSinch, service: MessagingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(doctor, "DOCTOR_SECONDS", 0.5)
    fake.script_api("get_app", 200, {"id": APP}, delay=2.0)

    run = doctor_run(service=service, fix=False)

    app = check(run, "app", APP)
    assert app["status"] == "error"
    assert "no answer within" in app["detail"]


# --- processing mode and channels ---------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("CONVERSATION", f"App {APP} is in Conversation mode: in Sinch's dashboard"),
        (None, f"Sinch did not say the processing mode of app {APP}"),
    ],
)
def test_an_app_not_in_dispatch_mode_is_a_problem(
    fake_sinch: FakeSinch, service: MessagingService, mode: str | None, said: str
) -> None:
    fake_sinch.add_app(APP, processing_mode=mode)

    run = doctor_run(service=service, fix=False)

    mode_check = check(run, "processing_mode", APP)
    assert mode_check["status"] == "problem"
    assert said in mode_check["detail"]
    assert "set its processing mode to Dispatch" in mode_check["detail"]


def test_a_queue_channel_without_credentials_is_a_problem(
    fake: FakeSinch, service: MessagingService
) -> None:
    make_queue("Support", [f"{APP}@whatsapp", f"{APP}@facebook"])
    make_queue("Viber desk", [f"{APP}@viber-bot"])

    run = doctor_run(service=service, fix=False)

    channels = check(run, "channel_credentials", APP)
    assert channels["status"] == "problem"
    assert (
        "no channel credentials for MESSENGER (queue Support); VIBER (queue Viber desk)"
        in (channels["detail"])
    )
    assert "Channels it has: SMS, WHATSAPP." in channels["detail"]


def test_an_app_no_queue_is_addressed_to_is_ok_with_a_hint(
    fake: FakeSinch, service: MessagingService
) -> None:
    run = doctor_run(service=service, fix=False)

    channels = check(run, "channel_credentials", APP)
    assert channels["status"] == "ok"
    assert f"No queue is addressed to app {APP} yet" in channels["detail"]


# --- the webhook and the fix --------------------------------------------------------------


def test_a_missing_webhook_is_created_by_the_fix(
    fake: FakeSinch, service: MessagingService
) -> None:
    run = doctor_run(service=service, fix=False)
    webhook = check(run, "webhook", APP)
    assert webhook["status"] == "problem"
    assert f"App {APP} has no webhook targeting {url_of(service)}." in webhook["detail"]
    assert "Fix the webhook here" in webhook["detail"]
    assert run.webhook_ok is False
    assert fake.webhooks == {}

    run = doctor_run(service=service, fix=True)

    [created] = fake.webhooks_of(APP)
    assert created == {
        "id": created["id"],
        "app_id": APP,
        "target": url_of(service),
        "target_type": "HTTP",
        "triggers": TRIGGERS,
        "secret": WEBHOOK_SECRET,
    }
    [post] = [r for r in fake.api_requests if r.method == "POST"]
    assert post.path == f"/v1/projects/{service.project_id}/webhooks"
    webhook = check(run, "webhook", APP)
    assert webhook["status"] == "ok"
    assert webhook["detail"].startswith(f"Fixed: created webhook {created['id']} of app {APP}")
    assert run.fixed == [
        {
            "code": "webhook_created",
            "app_id": APP,
            "webhook_id": created["id"],
            "detail": f"Created webhook {created['id']} of app {APP}: target {url_of(service)}, "
            "triggers MESSAGE_DELIVERY, MESSAGE_INBOUND, the webhook secret set.",
        }
    ]
    assert run.webhook_ok is True
    no_secret_in(run.checks, run.fixed)

    # The next run finds it right and changes nothing.
    again = doctor_run(service=service, fix=True)
    assert check(again, "webhook", APP)["status"] == "ok"
    assert again.fixed == []
    assert len(fake.webhooks) == 1


def test_a_wrong_webhook_is_updated_by_the_fix(fake: FakeSinch, service: MessagingService) -> None:
    other = fake.add_webhook(APP, "https://crm.example.com/sinch", triggers=["CONTACT_CREATE"])
    old_target = url_of(service).rstrip("/")  # the same address, without the final slash
    webhook_id = connect(
        fake,
        service,
        target=old_target,
        triggers=["MESSAGE_INBOUND", "CONVERSATION_START"],
        secret="what-someone-typed",
        target_type="DISMISS",
    )

    run = doctor_run(service=service, fix=False)
    webhook = check(run, "webhook", APP)
    assert webhook["status"] == "problem"
    assert f"Webhook {webhook_id} of app {APP} targets {url_of(service)}, but" in webhook["detail"]
    assert (
        "its target type is DISMISS, so Sinch sends nothing (it must be HTTP)"
        in (webhook["detail"])
    )
    assert "its triggers lack MESSAGE_DELIVERY" in webhook["detail"]
    assert "its secret differs from the inbound entry's" in webhook["detail"]
    assert "what-someone-typed" not in json.dumps(run.checks)

    run = doctor_run(service=service, fix=True)

    [patch] = [r for r in fake.api_requests if r.method == "PATCH"]
    assert patch.path == f"/v1/projects/{service.project_id}/webhooks/{webhook_id}"
    assert patch.body == {
        "app_id": APP,
        "target": url_of(service),
        "target_type": "HTTP",
        "triggers": TRIGGERS,
        "secret": WEBHOOK_SECRET,
    }
    assert fake.webhooks[webhook_id]["secret"] == WEBHOOK_SECRET
    assert fake.webhooks[other]["target"] == "https://crm.example.com/sinch"  # left alone
    [fixed] = run.fixed
    assert fixed["code"] == "webhook_updated"
    assert fixed["detail"] == (
        f"Updated webhook {webhook_id} of app {APP}: target {old_target} → {url_of(service)}; "
        "target type DISMISS → HTTP; triggers added: MESSAGE_DELIVERY; triggers removed (this "
        "service does not take them): CONVERSATION_START; secret replaced."
    )
    assert check(run, "webhook", APP)["status"] == "ok"
    assert run.webhook_ok is True
    no_secret_in(run.checks, run.fixed)


def test_an_app_with_five_other_webhooks_is_not_given_a_sixth(
    fake: FakeSinch, service: MessagingService
) -> None:
    for n in range(5):
        fake.add_webhook(APP, f"https://other{n}.example.com/hook")
    fake.webhooks[next(iter(fake.webhooks))]["target"] = (
        f"http://127.0.0.1:8000/webhooks/sinch/{service.pk}/"
    )

    run = doctor_run(service=service, fix=True)

    webhook = check(run, "webhook", APP)
    assert webhook["status"] == "problem"
    assert (
        "and it has 5 webhooks, Sinch's limit: delete one it no longer needs" in (webhook["detail"])
    )
    assert (
        f"http://127.0.0.1:8000/webhooks/sinch/{service.pk}/ has this service's path"
        in (webhook["detail"])
    )
    assert [r.method for r in fake.api_requests] == ["GET", "GET"]
    assert run.fixed == []
    assert run.webhook_ok is False


def test_the_fix_pushes_a_rotated_secret(fake: FakeSinch, service: MessagingService) -> None:
    webhook_id = connect(fake, service)
    services.webhook_secret_rotate(service=service, secret=NEW_SECRET, overlap_hours=24)

    run = doctor_run(service=service, fix=False)
    webhook = check(run, "webhook", APP)
    assert webhook["status"] == "problem"
    assert (
        "its secret is the one before the last rotation, which stops verifying at"
        in (webhook["detail"])
    )
    assert run.webhook_ok is False

    run = doctor_run(service=service, fix=True)

    assert fake.webhooks[webhook_id]["secret"] == NEW_SECRET
    [fixed] = run.fixed
    assert fixed["detail"] == f"Updated webhook {webhook_id} of app {APP}: secret replaced."
    assert run.webhook_ok is True
    no_secret_in(run.checks, run.fixed)


def test_a_secret_sinch_does_not_show_is_judged_by_the_callbacks(
    fake: FakeSinch, service: MessagingService
) -> None:
    fake.hide_webhook_secrets = True
    connect(fake, service)

    run = doctor_run(service=service, fix=False)
    assert check(run, "webhook", APP)["status"] == "ok"
    assert (
        "Sinch does not show its secret, so it was not compared"
        in (check(run, "webhook", APP)["detail"])
    )

    # After a rotation, only a callback signed with the new secret shows that Sinch has it.
    services.webhook_secret_rotate(service=service, secret=NEW_SECRET, overlap_hours=24)
    a_callback(service, verified_with="previous")
    run = doctor_run(service=service, fix=False)
    webhook = check(run, "webhook", APP)
    assert webhook["status"] == "problem"
    assert (
        "Sinch does not show its secret, and the last rotation's overlap runs until"
        in (webhook["detail"])
    )
    assert "was signed with the previous secret" in webhook["detail"]

    a_callback(service, verified_with="current")
    run = doctor_run(service=service, fix=False)
    assert check(run, "webhook", APP)["status"] == "ok"
    assert "verified with the current one" in check(run, "webhook", APP)["detail"]


def test_the_fix_pushes_a_rotated_secret_sinch_does_not_show(
    fake: FakeSinch, service: MessagingService
) -> None:
    fake.hide_webhook_secrets = True
    webhook_id = connect(fake, service)
    services.webhook_secret_rotate(service=service, secret=NEW_SECRET, overlap_hours=24)

    run = doctor_run(service=service, fix=True)

    assert fake.webhooks[webhook_id]["secret"] == NEW_SECRET
    assert run.fixed[0]["detail"] == f"Updated webhook {webhook_id} of app {APP}: secret replaced."


def test_a_fix_sinch_refuses_is_an_error_without_the_secret(
    fake: FakeSinch, service: MessagingService
) -> None:
    fake.script_api(
        "create_webhook",
        400,
        sinch_error(400, f"Invalid secret {WEBHOOK_SECRET}", "INVALID_ARGUMENT"),
    )

    run = doctor_run(service=service, fix=True)

    webhook = check(run, "webhook", APP)
    assert webhook["status"] == "error"
    assert (
        "The fix failed: Sinch answered 400 INVALID_ARGUMENT: Invalid secret ****"
        in (webhook["detail"])
    )
    assert run.fixed == []
    assert run.webhook_ok is False
    no_secret_in(run.checks)


# --- the webhook URL ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "problem"),
    [
        ("", "PUBLIC_BASE_URL is not set"),
        ("http://configurator.example.com", "is not HTTPS"),
        ("https://127.0.0.1:8443", "127.0.0.1 is a loopback address"),
        ("https://10.1.2.3", "10.1.2.3 is a private address"),
        ("https://169.254.169.254", "169.254.169.254 is a link-local (cloud metadata) address"),
        ("https://[::1]", "::1 is a loopback address"),
        ("https://localhost:8000", "localhost is a local host name"),
        ("https://intranet", "intranet is a local host name"),
        ("https://box.internal", "box.internal is a local host name"),
        ("https://configurator.example.com", None),
        ("https://203.0.113.9.nip.io", None),
        ("https://127.1", "127.0.0.1 is a loopback address"),
        ("https://0x7f.1", "127.0.0.1 is a loopback address"),
        ("https://example.com?x=1", "holds a query or fragment"),
        ("https://example.com#frag", "holds a query or fragment"),
        ("https://user:pw@example.com", "holds a user name or password"),
        ("https://exa mple.com", "holds a space or a line break"),
        ("https://example.com:0", "has no valid port"),
        ("https://example.com:99999", "has no valid port"),
        ("https://example.com:8443", None),
    ],
)
def test_the_webhook_url_must_be_public_https(
    settings: Any, base: str, problem: str | None
) -> None:
    settings.PUBLIC_BASE_URL = base
    url = (base or "http://127.0.0.1:8000") + "/webhooks/sinch/1/"
    found = webhook_url_problem(url)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_the_fix_refuses_a_webhook_url_sinch_cannot_call(
    fake: FakeSinch, service: MessagingService, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = ""

    run = doctor_run(service=service, fix=True)

    url = check(run, "webhook_url")
    assert url["status"] == "problem"
    assert "PUBLIC_BASE_URL is not set" in url["detail"]
    assert "Set PUBLIC_BASE_URL to the https:// address Sinch reaches" in url["detail"]
    refusal = check(run, "fix")
    assert refusal["status"] == "problem"
    assert refusal["detail"] == (
        "Nothing was changed in Sinch: the webhook URL is not public HTTPS, and Sinch would "
        "refuse it. Set PUBLIC_BASE_URL first, then fix the webhook again."
    )
    assert [r.method for r in fake.api_requests] == ["GET", "GET"]
    assert run.fixed == []


# --- the last callback --------------------------------------------------------------------


def test_the_last_callback_from_sinch_is_reported(
    fake: FakeSinch, service: MessagingService
) -> None:
    run = doctor_run(service=service, fix=False)
    assert check(run, "last_callback")["status"] == "problem"
    assert "No callback from Sinch has arrived yet" in check(run, "last_callback")["detail"]

    a_callback(service, simulated=True)
    run = doctor_run(service=service, fix=False)
    assert check(run, "last_callback")["status"] == "problem"

    a_callback(service, app_id=APP, trigger="MESSAGE_DELIVERY")
    run = doctor_run(service=service, fix=False)
    last = check(run, "last_callback")
    assert last["status"] == "ok"
    assert f"from app {APP} (MESSAGE_DELIVERY)" in last["detail"]


def test_a_service_without_entries_says_what_to_add(fake: FakeSinch, db: None) -> None:
    service = make_service(authentications=[outbound(APP)])

    run = doctor_run(service=service, fix=True)

    assert "add the entry `webhook` with a secret" in check(run, "inbound_entry")["detail"]
    assert check(run, "fix")["detail"] == (
        "Nothing was changed in Sinch: the service has no webhook secret to give Sinch. Add the "
        "inbound entry first, then fix the webhook again."
    )
    assert check(run, "webhook", APP)["status"] == "problem"
    assert fake.webhooks == {}
    assert run.webhook_ok is False

    service = make_service(authentications=[inbound(triggers=TRIGGERS)])
    run = doctor_run(service=service, fix=True)
    assert "add one KEYID@APPID entry per Sinch app" in check(run, "outbound_entries")["detail"]
    assert run.webhook_ok is None


# --- the API ------------------------------------------------------------------------------


def test_api_runs_the_doctor_and_answers_the_stored_run(
    api: APIClient, fake: FakeSinch, service: MessagingService
) -> None:
    response = api.post(f"/api/v1/messaging-services/{service.pk}/doctor/", {}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "service",
        "ran_at",
        "ran_by",
        "fix",
        "webhook_ok",
        "checks",
        "fixed",
    }
    assert (body["fix"], body["ran_by"], body["webhook_ok"], body["fixed"]) == (
        False,
        "admin",
        False,
        [],
    )
    for item in body["checks"]:
        assert {"code", "name", "status", "detail"} <= set(item)
        assert item["status"] in ("ok", "problem", "error")
    run = DoctorRun.objects.get()
    assert body["id"] == run.pk and body["checks"] == run.checks

    response = api.post(
        f"/api/v1/messaging-services/{service.pk}/doctor/", {"fix": True}, format="json"
    )
    body = response.json()
    assert (body["fix"], body["webhook_ok"]) == (True, True)
    assert [f["code"] for f in body["fixed"]] == ["webhook_created"]
    no_secret_in(body)


def test_api_refuses_bad_input_an_unknown_service_and_a_viewer(
    api: APIClient, fake: FakeSinch, service: MessagingService
) -> None:
    response = api.post(
        f"/api/v1/messaging-services/{service.pk}/doctor/", {"fix": "maybe"}, format="json"
    )
    assert response.status_code == 400
    assert "fix" in response.json()
    assert api.post("/api/v1/messaging-services/999999/doctor/", {}).status_code == 404

    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_messagingservice"))
    _, key = api_token_create(user=viewer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.post(f"/api/v1/messaging-services/{service.pk}/doctor/", {})
    assert response.status_code == 403
    assert DoctorRun.objects.count() == 0
    assert fake.requests == []


# --- the admin page -----------------------------------------------------------------------


def test_admin_page_runs_the_doctor_and_fixes_the_webhook(
    admin_client_: Client, fake: FakeSinch, service: MessagingService
) -> None:
    page = reverse("admin:messaging_messagingservice_doctor", args=[service.pk])
    change = f"/admin/messaging/messagingservice/{service.pk}/change/"
    assert page == f"/admin/messaging/messagingservice/{service.pk}/doctor/"

    response = admin_client_.get(change)
    assert b"Never run" in response.content
    assert page.encode() in response.content

    response = admin_client_.get(page)
    assert response.status_code == 200
    assert b'id="doctor-run"' in response.content
    assert b'id="doctor-fix"' in response.content
    assert b"The doctor has not run on this service yet." in response.content

    response = admin_client_.post(page, {"fix": "0"}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [(page, 302)]
    assert "The doctor ran:" in html
    assert 'class="doctor-check status-problem" data-code="webhook"' in html
    assert "Fix the webhook here" in html

    response = admin_client_.post(page, {"fix": "1"}, follow=True)
    html = response.content.decode()
    assert 'class="doctor-check status-ok" data-code="webhook"' in html
    assert "Changed in Sinch" in html
    assert "Sinch&#x27;s webhooks point here: yes" in html
    assert "Earlier runs" in html
    assert len(fake.webhooks) == 1
    [entry] = LogEntry.objects.filter(object_id=str(service.pk))
    assert "Setup doctor: Created webhook" in entry.get_change_message()

    response = admin_client_.get(change)
    assert b"Last run" in response.content
    assert b"fixed 1 webhook(s)" in response.content
    for secret in (WEBHOOK_SECRET, KEY_SECRET):
        assert secret.encode() not in response.content
        assert secret not in html


def test_admin_page_for_a_viewer_shows_runs_without_running(
    fake: FakeSinch, service: MessagingService
) -> None:
    doctor_run(service=service, fix=False)
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_messagingservice"))
    client = Client()
    client.force_login(viewer)
    page = f"/admin/messaging/messagingservice/{service.pk}/doctor/"

    response = client.get(page)
    assert response.status_code == 200
    assert b"doctor-checks" in response.content
    assert b'id="doctor-run"' not in response.content
    assert client.post(page, {"fix": "1"}).status_code == 403
    assert DoctorRun.objects.count() == 1


def test_admin_page_of_no_service_is_a_404(admin_client_: Client, db: None) -> None:
    assert admin_client_.get("/admin/messaging/messagingservice/999/doctor/").status_code == 404
    assert admin_client_.get("/admin/messaging/messagingservice/x/doctor/").status_code == 404


def test_sinch_echoing_a_secret_in_an_error_never_shows_it(
    fake: FakeSinch, service: MessagingService
) -> None:
    fake.script_api(
        "list_webhooks",
        500,
        sinch_error(500, f"Internal error near {WEBHOOK_SECRET} and {KEY_SECRET}", "INTERNAL"),
    )

    run = doctor_run(service=service, fix=True)

    webhook = check(run, "webhook", APP)
    assert webhook["status"] == "error"
    said = f"Sinch answered 500 INTERNAL: Internal error near {MASK} and {MASK}."
    assert said in webhook["detail"]
    assert "Sinch had a problem of its own" in webhook["detail"]
    assert run.webhook_ok is None
    no_secret_in(run.checks)


def test_an_echoed_secret_is_masked_where_sinch_s_words_were_cut(
    fake: FakeSinch, service: MessagingService
) -> None:
    """Sinch's words are cut at ERROR_MESSAGE_LIMIT: a secret cut in the middle would keep its
    beginning; it is masked too (every other form of a secret: tests/integrations/test_masking)."""
    long = "x" * (client.ERROR_MESSAGE_LIMIT - 10) + WEBHOOK_SECRET
    fake.script_api("list_webhooks", 500, sinch_error(500, long, "INTERNAL"))
    run = doctor_run(service=service, fix=False)
    assert WEBHOOK_SECRET[:10] not in json.dumps(run.checks)
    assert MASK in check(run, "webhook", APP)["detail"]
