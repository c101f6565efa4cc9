"""API tokens: stored hashed, shown once, created and revoked in the admin and by the command."""

from __future__ import annotations

import importlib
import io
import re
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from configurator.models import ApiToken
from configurator.tokens import api_token_create

pytestmark = pytest.mark.django_db

TOKEN_ADMIN = "/admin/configurator/apitoken/"


def _api_status(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return int(client.get("/api/v1/queues/").status_code)


def _all_token_columns() -> str:
    """Every stored value of every token row, as a database dump would show them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        return " ".join(str(value) for row in cursor.fetchall() for value in row)


def _staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, password="pw-" + username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_key_is_stored_hashed_and_authenticates(staff_user: User) -> None:
    token, key = api_token_create(user=staff_user)

    assert len(key) == 64
    assert key not in _all_token_columns()
    assert token.digest != key and token.token_key == key[:15]
    assert _api_status(key) == 200
    assert _api_status(key[:-1] + ("0" if key[-1] != "0" else "1")) == 401


def test_expired_token_is_refused_and_removed(staff_user: User) -> None:
    token, key = api_token_create(user=staff_user)
    ApiToken.objects.filter(pk=token.pk).update(expiry=timezone.now())

    assert _api_status(key) == 401
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_inactive_users_token_is_refused(staff_user: User) -> None:
    _, key = api_token_create(user=staff_user)
    User.objects.filter(pk=staff_user.pk).update(is_active=False)

    assert _api_status(key) == 401


def test_drf_create_token_prints_a_new_key_once_and_reset_revokes_the_others(
    staff_user: User,
) -> None:
    out = io.StringIO()
    call_command("drf_create_token", "admin", stdout=out)
    first = re.fullmatch(r"Generated token ([0-9a-f]{64}) for user admin\n", out.getvalue())
    assert first is not None
    out = io.StringIO()
    call_command("drf_create_token", "admin", stdout=out)
    second = re.search(r"Generated token ([0-9a-f]{64})", out.getvalue())
    assert second is not None and second.group(1) != first.group(1)
    assert _api_status(first.group(1)) == 200 and _api_status(second.group(1)) == 200

    out = io.StringIO()
    call_command("drf_create_token", "-r", "admin", stdout=out, stderr=io.StringIO())
    third = re.search(r"Generated token ([0-9a-f]{64})", out.getvalue())

    assert third is not None
    assert _api_status(first.group(1)) == 401
    assert _api_status(second.group(1)) == 401
    assert _api_status(third.group(1)) == 200
    assert ApiToken.objects.filter(user=staff_user).count() == 1


def test_drf_create_token_for_an_unknown_user_is_an_error() -> None:
    with pytest.raises(CommandError, match="user nobody does not exist"):
        call_command("drf_create_token", "nobody")


def test_migration_carries_drf_tokens_over_and_drops_their_table(staff_user: User) -> None:
    drf_key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id integer NOT NULL)"
            if connection.vendor == "postgresql"
            else "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created datetime NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [drf_key, timezone.now(), staff_user.pk],
        )
    migration = importlib.import_module("configurator.migrations.0003_api_tokens")
    state = MigrationExecutor(connection).loader.project_state(("configurator", "0003_api_tokens"))
    schema_editor: Any = SimpleNamespace(
        connection=connection,
        sql_delete_table="DROP TABLE %(table)s",
        quote_name=connection.ops.quote_name,
        execute=lambda sql: connection.cursor().execute(sql),
    )

    migration.carry_over_drf_tokens(state.apps, schema_editor)

    assert "authtoken_token" not in connection.introspection.table_names()
    assert drf_key not in _all_token_columns()
    assert _api_status(drf_key) == 200  # clients keep their key


# --- admin ----------------------------------------------------------------------------------


def test_admin_creates_a_token_and_shows_its_key_once(admin_client_: Client) -> None:
    owner = _staff("automation", "view_queue")

    answer = admin_client_.post(f"{TOKEN_ADMIN}add/", {"user": owner.pk})

    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    key = re.search(r'id="api-token-key"[^>]*value="([0-9a-f]{64})"', answer.content.decode())
    assert key is not None
    assert _api_status(key.group(1)) == 200
    token = ApiToken.objects.get(user=owner)
    listing = admin_client_.get(TOKEN_ADMIN).content.decode()
    detail = admin_client_.get(f"{TOKEN_ADMIN}{token.pk}/change/").content.decode()
    for page in (listing, detail):
        assert token.prefix in page
        assert key.group(1) not in page
        # The digest is the row's primary key (in URLs): it cannot be turned back into the key.


def test_admin_refuses_an_expiry_in_the_past(admin_client_: Client, staff_user: User) -> None:
    answer = admin_client_.post(
        f"{TOKEN_ADMIN}add/", {"user": staff_user.pk, "expires_at": "2000-01-01T00:00"}
    )

    assert answer.status_code == 200
    assert "The expiry must be in the future." in answer.content.decode()
    assert not ApiToken.objects.exists()


def test_staff_see_and_revoke_only_their_own_tokens(staff_user: User) -> None:
    others, _ = api_token_create(user=staff_user)
    clerk = _staff("clerk", "view_apitoken", "add_apitoken", "delete_apitoken")
    mine, _ = api_token_create(user=clerk)
    client = Client()
    client.force_login(clerk)

    listing = client.get(TOKEN_ADMIN).content.decode()
    assert mine.prefix in listing and others.prefix not in listing
    assert client.get(f"{TOKEN_ADMIN}{others.pk}/change/").status_code == 302  # "not found"
    client.post(f"{TOKEN_ADMIN}{others.pk}/delete/", {"post": "yes"})
    client.post(
        TOKEN_ADMIN,
        {"action": "revoke_selected", "_selected_action": [others.pk, mine.pk]},
    )

    assert ApiToken.objects.filter(pk=others.pk).exists()
    assert not ApiToken.objects.filter(pk=mine.pk).exists()


def test_staff_create_tokens_only_for_themselves(staff_user: User) -> None:
    clerk = _staff("clerk", "view_apitoken", "add_apitoken")
    client = Client()
    client.force_login(clerk)

    refused = client.post(f"{TOKEN_ADMIN}add/", {"user": staff_user.pk})
    created = client.post(f"{TOKEN_ADMIN}add/", {"user": clerk.pk})

    assert "Select a valid choice" in refused.content.decode()
    assert not ApiToken.objects.filter(user=staff_user).exists()
    assert created.status_code == 200 and ApiToken.objects.filter(user=clerk).count() == 1


def test_viewing_tokens_needs_the_permission() -> None:
    client = Client()
    client.force_login(_staff("viewer", "view_queue"))

    assert client.get(TOKEN_ADMIN).status_code == 403
    assert client.get(f"{TOKEN_ADMIN}add/").status_code == 403


def test_knox_s_own_token_page_is_not_in_the_admin(admin_client: Client) -> None:
    """knox's page lists every digest and creates tokens for anyone: only ApiToken's remains."""
    from django.contrib import admin
    from knox.models import AuthToken

    assert not admin.site.is_registered(AuthToken)
    assert admin_client.get("/admin/knox/authtoken/").status_code == 404
    assert admin_client.get("/admin/knox/authtoken/add/").status_code == 404
    assert admin_client.get(TOKEN_ADMIN).status_code == 200
