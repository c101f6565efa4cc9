"""Webhook secret rotation with an overlap: the service, the webhook, the API and the admin page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from configurator.tokens import api_token_create
from messaging import services
from messaging.models import Callback, MessagingService, ServiceAuthentication
from messaging.webhooks.secrets import webhook_secrets
from tests.factories import make_service, outbound
from tests.sinch import WEBHOOK_SECRET, fixture_body, post_callback, signed_headers
from tests.wsgiclient import WSGIClient

pytestmark = pytest.mark.django_db

NEW = "new-webhook-secret-1"
NEWER = "newer-webhook-secret-2"


def _inbound(service: MessagingService) -> ServiceAuthentication:
    return service.authentications.get(direction="inbound")


def _post(service: MessagingService, secret: str, n: int) -> Any:
    body = fixture_body("message_inbound", message__id=f"01HMSGROTATE{n:014d}")
    return post_callback(WSGIClient(), service.pk, body, signed_headers(body, secret=secret))


# --- the service ------------------------------------------------------------------------------


def test_rotation_keeps_the_current_secret_as_previous_until_the_overlap_ends(
    service: MessagingService,
) -> None:
    before = timezone.now()
    entry = services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=24)
    entry = _inbound(service)
    assert entry.secret is not None and entry.secret.reveal() == NEW
    assert entry.previous_secret is not None and entry.previous_secret.reveal() == WEBHOOK_SECRET
    assert entry.previous_secret_expires_at is not None
    assert before + timedelta(hours=24) <= entry.previous_secret_expires_at
    assert services.webhook_secret_to_push(service=service) == NEW


def test_a_second_rotation_is_refused_while_the_overlap_runs(service: MessagingService) -> None:
    # It would cut off the secret before the current one, which Sinch may still sign with; a
    # double submit or a retried request would do the same with the same secret.
    services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=24)
    for secret, overlap in ((NEWER, 2), (NEWER, 0), (NEW, 24)):
        with pytest.raises(ValidationError) as raised:
            services.webhook_secret_rotate(service=service, secret=secret, overlap_hours=overlap)
        assert set(raised.value.message_dict) == {"secret"}
    entry = _inbound(service)
    assert entry.secret is not None and entry.secret.reveal() == NEW
    assert entry.previous_secret is not None and entry.previous_secret.reveal() == WEBHOOK_SECRET


def test_rotating_to_the_current_secret_is_refused(service: MessagingService) -> None:
    with pytest.raises(ValidationError, match="current webhook secret"):
        services.webhook_secret_rotate(service=service, secret=WEBHOOK_SECRET, overlap_hours=24)


def test_once_the_overlap_has_ended_a_rotation_replaces_the_previous_secret(
    service: MessagingService,
) -> None:
    services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=24)
    ServiceAuthentication.objects.filter(service=service, direction="inbound").update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert _inbound(service).previous_secret_until is None
    services.webhook_secret_rotate(service=service, secret=NEWER, overlap_hours=2)
    entry = _inbound(service)
    assert entry.secret is not None and entry.secret.reveal() == NEWER
    assert entry.previous_secret is not None and entry.previous_secret.reveal() == NEW
    assert entry.previous_secret_until is not None
    assert entry.previous_secret_until <= timezone.now() + timedelta(hours=2)


def test_an_overlap_of_zero_keeps_no_previous_secret(service: MessagingService) -> None:
    services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=0)
    entry = _inbound(service)
    assert entry.previous_secret is None
    assert entry.previous_secret_expires_at is None


def test_replacing_the_webhook_secret_in_the_authentications_ends_the_overlap(
    service: MessagingService, api: APIClient
) -> None:
    # The way to cut off a leaked secret at once: no earlier secret verifies any more.
    services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=24)
    entries = api.get(f"/api/v1/messaging-services/{service.pk}/").json()["authentications"]
    for entry in entries:
        if entry["direction"] == "inbound":
            entry["secret"] = NEWER
    response = api.patch(
        f"/api/v1/messaging-services/{service.pk}/", {"authentications": entries}, format="json"
    )

    assert response.status_code == 200, response.content
    inbound = _inbound(service)
    assert inbound.secret is not None and inbound.secret.reveal() == NEWER
    assert inbound.previous_secret is None and inbound.previous_secret_expires_at is None
    answered = [e for e in response.json()["authentications"] if e["direction"] == "inbound"]
    assert answered[0]["rotation_overlap_until"] is None


@pytest.mark.parametrize(
    ("secret", "overlap", "fields"),
    [
        ("", 24, {"secret"}),
        (" padded ", 24, {"secret"}),
        ("x" * 501, 24, {"secret"}),
        (NEW, -1, {"overlap_hours"}),
        (NEW, 169, {"overlap_hours"}),
        ("", 1000, {"secret", "overlap_hours"}),
    ],
)
def test_rotation_refuses_invalid_input_and_changes_nothing(
    service: MessagingService, secret: str, overlap: int, fields: set[str]
) -> None:
    with pytest.raises(ValidationError) as raised:
        services.webhook_secret_rotate(service=service, secret=secret, overlap_hours=overlap)
    assert set(raised.value.message_dict) == fields
    entry = _inbound(service)
    assert entry.secret is not None and entry.secret.reveal() == WEBHOOK_SECRET
    assert entry.previous_secret is None


def test_rotation_needs_an_inbound_entry(db: None) -> None:
    service = make_service(authentications=[outbound("01E4556565565ERKY99")])
    with pytest.raises(ValidationError) as raised:
        services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=1)
    assert "inbound" in raised.value.message_dict["secret"][0]
    assert services.webhook_secret_to_push(service=service) is None


def test_generated_secrets_are_long_and_differ() -> None:
    first, second = services.webhook_secret_generate(), services.webhook_secret_generate()
    assert first != second
    assert len(first) >= 40


# --- the webhook ------------------------------------------------------------------------------


def test_webhook_accepts_current_and_previous_and_records_which(
    service: MessagingService, django_capture_on_commit_callbacks: Any
) -> None:
    assert _post(service, WEBHOOK_SECRET, 1).status_code == 200  # cached in this process
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=24)
    assert _post(service, NEW, 2).status_code == 200
    assert _post(service, WEBHOOK_SECRET, 3).status_code == 200
    assert _post(service, "never-the-secret", 4).status_code == 401
    verified = dict(Callback.objects.values_list("message_id", "verified_with"))
    assert verified == {
        "01HMSGROTATE00000000000001": "current",
        "01HMSGROTATE00000000000002": "current",
        "01HMSGROTATE00000000000003": "previous",
    }


def test_webhook_refuses_the_previous_secret_once_the_overlap_ended(
    service: MessagingService,
) -> None:
    services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=1)
    assert _post(service, WEBHOOK_SECRET, 1).status_code == 200
    ServiceAuthentication.objects.filter(service=service, direction="inbound").update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    webhook_secrets.clear()
    assert _post(service, WEBHOOK_SECRET, 2).status_code == 401
    assert _post(service, NEW, 3).status_code == 200


def test_an_expiry_passing_while_cached_refuses_at_once(service: MessagingService) -> None:
    services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=1)
    assert _post(service, WEBHOOK_SECRET, 1).status_code == 200
    cached = webhook_secrets.get(service.pk)
    assert cached is not None
    # As if the hour had passed: the cached expiry is compared with the clock on every callback.
    past = timezone.now() - timedelta(seconds=1)
    ServiceAuthentication.objects.filter(service=service, direction="inbound").update(
        previous_secret_expires_at=past
    )
    webhook_secrets._entries[service.pk] = (
        cached._replace(previous_until=past.timestamp()),
        webhook_secrets._entries[service.pk][1],
    )
    assert _post(service, WEBHOOK_SECRET, 2).status_code == 401


def test_a_rotation_with_no_overlap_refuses_the_old_secret_once_the_cache_is_read_again(
    service: MessagingService,
) -> None:
    assert _post(service, WEBHOOK_SECRET, 1).status_code == 200
    services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=0)
    # Another process's entry, loaded before the change: it is used until it is ttl old.
    assert _post(service, WEBHOOK_SECRET, 2).status_code == 200
    secrets, loaded_at = webhook_secrets._entries[service.pk]
    webhook_secrets._entries[service.pk] = (secrets, loaded_at - webhook_secrets.ttl)
    assert _post(service, WEBHOOK_SECRET, 3).status_code == 401
    assert _post(service, NEW, 4).status_code == 200


# --- the API ----------------------------------------------------------------------------------


def _url(service_id: int) -> str:
    return f"/api/v1/messaging-services/{service_id}/rotate-webhook-secret/"


def test_api_rotates_and_answers_the_service_without_secrets(
    api: APIClient, service: MessagingService
) -> None:
    response = api.post(_url(service.pk), {"secret": NEW, "overlap_hours": 6}, format="json")
    assert response.status_code == 200
    shown = response.json()
    assert shown["id"] == service.pk
    assert NEW not in response.content.decode()
    assert WEBHOOK_SECRET not in response.content.decode()
    (entry,) = [e for e in shown["authentications"] if e["direction"] == "inbound"]
    assert entry["rotation_overlap_until"] is not None
    assert "secret" not in response.content.decode().replace('"has_secret"', "")
    assert _inbound(service).secret.reveal() == NEW


def test_api_overlap_defaults_to_24_hours(api: APIClient, service: MessagingService) -> None:
    assert api.post(_url(service.pk), {"secret": NEW}, format="json").status_code == 200
    until = _inbound(service).previous_secret_expires_at
    assert until is not None
    assert timezone.now() + timedelta(hours=23) < until <= timezone.now() + timedelta(hours=24)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"secret"}),
        ({"secret": ""}, {"secret"}),
        ({"secret": " x "}, {"secret"}),
        ({"secret": "x" * 501}, {"secret"}),
        ({"secret": NEW, "overlap_hours": 169}, {"overlap_hours"}),
        ({"secret": NEW, "overlap_hours": -1}, {"overlap_hours"}),
        ({"secret": NEW, "overlap_hours": "soon"}, {"overlap_hours"}),
        ({"secret": "", "overlap_hours": 500}, {"secret", "overlap_hours"}),
    ],
)
def test_api_answers_400_with_field_errors(
    api: APIClient, service: MessagingService, payload: dict[str, Any], fields: set[str]
) -> None:
    response = api.post(_url(service.pk), payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    assert _inbound(service).secret.reveal() == WEBHOOK_SECRET


def test_api_answers_400_without_an_inbound_entry(api: APIClient) -> None:
    service = make_service(authentications=[outbound("01E4556565565ERKY98")])
    response = api.post(_url(service.pk), {"secret": NEW}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"secret"}


def test_api_answers_404_for_an_unknown_service(api: APIClient, db: None) -> None:
    assert api.post(_url(999999), {"secret": NEW}, format="json").status_code == 404


def test_api_needs_the_change_permission(service: MessagingService) -> None:
    user = User.objects.create_user("viewer", password="pw-12345678", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_messagingservice"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)[1]}")
    assert client.post(_url(service.pk), {"secret": NEW}, format="json").status_code == 403
    assert _inbound(service).secret.reveal() == WEBHOOK_SECRET
    user.user_permissions.add(Permission.objects.get(codename="change_messagingservice"))
    assert client.post(_url(service.pk), {"secret": NEW}, format="json").status_code == 200


def test_api_callbacks_show_which_secret_verified(
    api: APIClient, service: MessagingService
) -> None:
    services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=1)
    assert _post(service, WEBHOOK_SECRET, 1).status_code == 200
    (shown,) = api.get("/api/v1/callbacks/").json()["results"]
    assert shown["verified_with"] == "previous"


# --- the admin --------------------------------------------------------------------------------


def _page(service: MessagingService) -> str:
    return f"/admin/messaging/messagingservice/{service.pk}/rotate-webhook-secret/"


def test_change_page_links_to_the_rotation_page(
    admin_client_: Client, service: MessagingService
) -> None:
    page = admin_client_.get(f"/admin/messaging/messagingservice/{service.pk}/change/")
    assert _page(service) in page.content.decode()
    assert "Rotate webhook secret" in page.content.decode()


def test_admin_rotation_with_a_typed_secret_redirects_and_logs_no_secret(
    admin_client_: Client, service: MessagingService
) -> None:
    form = admin_client_.get(_page(service))
    assert form.status_code == 200
    assert "Overlap (hours)" in form.content.decode()
    response = admin_client_.post(_page(service), {"secret": NEW, "overlap_hours": "12"})
    assert response.status_code == 302
    assert _inbound(service).secret.reveal() == NEW
    entry = LogEntry.objects.get()
    assert "rotated" in entry.change_message
    assert NEW not in entry.change_message
    change = admin_client_.get(response["Location"]).content.decode()
    assert "previous one verifies until" in change
    assert NEW not in change


def test_admin_generated_secret_is_shown_once(
    admin_client_: Client, service: MessagingService
) -> None:
    response = admin_client_.post(_page(service), {"generate": "on", "overlap_hours": "24"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = _inbound(service).secret.reveal()
    assert secret != WEBHOOK_SECRET
    assert secret in response.content.decode()
    for later in (
        _page(service),
        f"/admin/messaging/messagingservice/{service.pk}/change/",
        f"/admin/messaging/messagingservice/{service.pk}/history/",
    ):
        assert secret not in admin_client_.get(later).content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"secret": "", "overlap_hours": "24"}, "secret"),
        ({"secret": NEW, "generate": "on", "overlap_hours": "24"}, "secret"),
        ({"secret": NEW, "overlap_hours": "169"}, "overlap_hours"),
        ({"secret": NEW, "overlap_hours": ""}, "overlap_hours"),
    ],
)
def test_admin_form_errors_keep_the_page_and_never_echo_the_secret(
    admin_client_: Client, service: MessagingService, data: dict[str, str], field: str
) -> None:
    response = admin_client_.post(_page(service), data)
    assert response.status_code == 200
    assert response.context["form"].errors.get(field)
    assert NEW not in response.content.decode()
    assert _inbound(service).secret.reveal() == WEBHOOK_SECRET


def test_admin_rotation_page_needs_the_change_permission(service: MessagingService) -> None:
    user = User.objects.create_user("viewer", password="pw-12345678", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_messagingservice"))
    client = Client()
    client.force_login(user)
    assert client.get(_page(service)).status_code == 403
    assert client.post(_page(service), {"secret": NEW, "overlap_hours": "1"}).status_code == 403
    change = client.get(f"/admin/messaging/messagingservice/{service.pk}/change/")
    assert _page(service) not in change.content.decode()


def test_admin_page_warns_that_a_previous_secret_is_replaced(
    admin_client_: Client, service: MessagingService
) -> None:
    services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=5)
    assert (
        "another rotation is refused until then"
        in admin_client_.get(_page(service)).content.decode()
    )


def test_admin_callback_pages_show_which_secret_verified(
    admin_client_: Client, service: MessagingService
) -> None:
    services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=1)
    assert _post(service, WEBHOOK_SECRET, 1).status_code == 200
    callback = Callback.objects.get()
    listed = admin_client_.get("/admin/messaging/callback/").content.decode()
    assert "previous secret" in listed
    detail = admin_client_.get(f"/admin/messaging/callback/{callback.pk}/change/")
    assert "previous secret" in detail.content.decode()


@pytest.mark.parametrize("object_id", ["abc", "1.5", "999999"])
def test_the_rotation_page_of_no_service_is_a_404(admin_client_: Client, object_id: str) -> None:
    url = f"/admin/messaging/messagingservice/{object_id}/rotate-webhook-secret/"
    assert admin_client_.get(url).status_code == 404


def test_the_rotation_page_says_why_a_second_rotation_waits(
    admin_client_: Client, service: MessagingService
) -> None:
    services.webhook_secret_rotate(service=service, secret=NEW, overlap_hours=24)
    url = f"/admin/messaging/messagingservice/{service.pk}/rotate-webhook-secret/"
    page = admin_client_.post(url, {"secret": NEWER, "overlap_hours": 24}).content.decode()
    assert "overlap runs until" in page
    assert NEWER not in page
    assert _inbound(service).secret.reveal() == NEW


def test_the_rotation_form_says_every_missing_field_at_once(
    admin_client_: Client, service: MessagingService
) -> None:
    url = f"/admin/messaging/messagingservice/{service.pk}/rotate-webhook-secret/"
    page = admin_client_.post(url, {"secret": "", "overlap_hours": ""}).content.decode()
    assert "Enter the new webhook secret" in page
    assert "This field is required" in page
