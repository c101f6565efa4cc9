"""The roles: the migration's groups are the table, every permission of the project is in a
role, and the user admin hands roles out."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from configurator.roles import (
    ADMINISTRATOR,
    ADMINISTRATOR_ONLY,
    INTEGRATION_DEVELOPER,
    ROLES,
    SUPERVISOR,
    VIEWER,
    roles_apply,
)

pytestmark = pytest.mark.django_db


def _every_permission() -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in Permission.objects.values_list(
            "content_type__app_label", "codename"
        )
    }


def _group_permissions(name: str) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in Group.objects.get(name=name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_the_migrations_leave_the_four_groups_holding_exactly_the_table() -> None:
    # No roles_apply() here: what the data migration made on the test database.
    for name, permissions in ROLES.items():
        assert _group_permissions(name) == set(permissions), name


def test_every_permission_of_the_project_is_in_a_role_or_administrator_only() -> None:
    """A new model's (or a new custom) permission fails here until the table places it."""
    placed = set().union(*(ROLES[name] for name in (INTEGRATION_DEVELOPER, SUPERVISOR, VIEWER)))
    unplaced = _every_permission() - placed - ADMINISTRATOR_ONLY

    assert not unplaced, f"in no role and not Administrator only: {sorted(unplaced)}"


def test_the_administrator_holds_every_permission_and_the_table_names_no_unknown_one() -> None:
    assert set(ROLES[ADMINISTRATOR]) == _every_permission()


def test_no_role_but_administrator_manages_people_tokens_or_messaging_secrets() -> None:
    for name in (INTEGRATION_DEVELOPER, SUPERVISOR, VIEWER):
        held = ROLES[name]
        assert not {p for p in held if p.startswith(("auth.", "knox.", "axes.", "sessions."))}
        assert not {p for p in held if p.endswith("_apitoken")}
        assert "messaging.change_messagingservice" not in held
        assert "messaging.change_serviceauthentication" not in held
    assert "conversations.view_personal_data" not in ROLES[VIEWER]
    assert "conversations.view_personal_data" not in ROLES[INTEGRATION_DEVELOPER]
    assert "conversations.view_personal_data" in ROLES[SUPERVISOR]
    assert not {p for p in ROLES[VIEWER] if not p.split(".")[1].startswith("view_")}


def test_applying_again_takes_back_what_was_added_by_hand_and_leaves_other_groups() -> None:
    viewer = Group.objects.get(name=VIEWER)
    viewer.permissions.add(Permission.objects.get(codename="delete_queue"))
    Group.objects.get(name=SUPERVISOR).delete()
    own = Group.objects.create(name="Night shift")
    own.permissions.add(Permission.objects.get(codename="view_queue"))

    roles_apply()
    roles_apply()

    assert _group_permissions(VIEWER) == set(ROLES[VIEWER])
    assert _group_permissions(SUPERVISOR) == set(ROLES[SUPERVISOR])
    assert _group_permissions("Night shift") == {"queues.view_queue"}


# -- the user admin


@pytest.fixture
def admin_browser(admin_client_: Client) -> Client:
    return admin_client_


def test_user_list_shows_each_users_roles_and_filters_by_role(admin_browser: Client) -> None:
    ann = User.objects.create_user("ann", is_staff=True)
    ann.groups.add(Group.objects.get(name=VIEWER), Group.objects.get(name=SUPERVISOR))
    User.objects.create_user("bob", is_staff=True).groups.add(
        Group.objects.get(name=INTEGRATION_DEVELOPER)
    )

    listing = admin_browser.get("/admin/auth/user/").content.decode()
    supervisors = admin_browser.get("/admin/auth/user/", {"role": SUPERVISOR}).content.decode()
    unknown = admin_browser.get("/admin/auth/user/", {"role": "Owner"})

    assert "Supervisor, Viewer" in listing
    assert "Integration developer" in listing
    assert "ann" in supervisors and ">bob<" not in supervisors
    assert unknown.status_code == 200


def test_a_user_given_a_role_in_the_user_admin_becomes_staff(admin_browser: Client) -> None:
    user = User.objects.create_user("carol", password="carol-pass-123")
    page = admin_browser.get(f"/admin/auth/user/{user.pk}/change/").content.decode()
    form = {
        "username": "carol",
        "is_active": "on",
        "groups": [str(Group.objects.get(name=VIEWER).pk)],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "10:00:00",
    }

    saved = admin_browser.post(f"/admin/auth/user/{user.pk}/change/", form)

    assert "only staff users may use the admin and the API" in page
    assert saved.status_code == 302, saved.content.decode()[:2000]
    user.refresh_from_db()
    assert user.is_staff
    assert [g.name for g in user.groups.all()] == [VIEWER]


def test_the_administrator_role_manages_everyones_api_tokens() -> None:
    from configurator.tokens import api_token_create
    from tests.roles import role_browser

    owner = User.objects.create_user("automation", is_staff=True)
    token, _key = api_token_create(user=owner)
    administrator = role_browser("A")

    listing = administrator.get("/admin/configurator/apitoken/").content.decode()
    add_page = administrator.get("/admin/configurator/apitoken/add/").content.decode()

    assert f"{token.prefix}…" in listing
    assert f'<option value="{owner.pk}">automation</option>' in add_page
    assert role_browser("V").get("/admin/configurator/apitoken/").status_code == 403
