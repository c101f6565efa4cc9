"""The roles handed out to staff users: one table of role → permissions, and the one function
that makes the groups of the same names match it exactly.

A role is a Django group. The admin and the API check the model permissions (and the few
custom ones) that the table below gives, so both enforce the same matrix. The data migrations
that keep the groups call `roles_apply()`; a later change of the table is a new migration
calling it again. tests/configurator/test_roles.py fails when a permission of the project is in
no role and not on the `ADMINISTRATOR_ONLY` list, so a new model cannot be left out silently.

Permissions are written `app_label.codename`, as `User.has_perm` takes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_lazy as _

ADMINISTRATOR = "Administrator"
INTEGRATION_DEVELOPER = "Integration developer"
SUPERVISOR = "Supervisor"
VIEWER = "Viewer"


def _crud(label: str, *models: str) -> frozenset[str]:
    return frozenset(
        f"{label}.{action}_{model}"
        for model in models
        for action in ("add", "change", "delete", "view")
    )


# Read-only everywhere except secrets, tokens and personal data (which no page shows without
# their own permission: secrets are write-only, tokens and people are Administrator only).
VIEWER_PERMISSIONS = frozenset(
    {
        "queues.view_queue",
        "queues.view_queueaddress",
        "conversations.view_agent",
        "conversations.view_contact",
        # Messages and events are a contact's data: their pages need view_personal_data too.
        "conversations.view_message",
        "conversations.view_contactevent",
        "messaging.view_messagingservice",
        "messaging.view_serviceauthentication",
        "messaging.view_callback",
        "messaging.view_doctorrun",
        "integrations.view_integration",
        "integrations.view_integrationauthentication",
        "integrations.view_integrationtrigger",
        "integrations.view_delivery",
        "integrations.view_integrationversion",
        "configurator.view_auditentry",
        "configurator.view_workerheartbeat",
        "cockpit.view_hourlycount",
    }
)

# Integrations, their deliveries (resend) and test runs; the rest read-only. No messaging
# service (its secrets) and no contacts' personal data: test runs use the sample contact.
INTEGRATION_DEVELOPER_PERMISSIONS = VIEWER_PERMISSIONS | _crud(
    "integrations", "integration", "integrationauthentication", "integrationtrigger"
)

# Queues, agents, conversations and their actions (allocate … abandon, reply), callbacks
# (process again); configuration read-only.
SUPERVISOR_PERMISSIONS = (
    VIEWER_PERMISSIONS
    | _crud("queues", "queue", "queueaddress")
    | _crud("conversations", "agent")
    | {
        "conversations.change_contact",
        "conversations.view_personal_data",
        "messaging.change_callback",
    }
)

# Permissions only the Administrator role holds, each with why.
ADMINISTRATOR_ONLY = frozenset(
    {
        # People and their rights: whoever holds these can give themselves any role.
        *_crud("auth", "user", "group", "permission"),
        # API tokens act as their user; knox's own rows are managed through ApiToken.
        *_crud("configurator", "apitoken"),
        *_crud("knox", "authtoken"),
        # Messaging services hold the Sinch access keys and webhook secrets; the doctor's
        # runs are made (and its fixes written to Sinch) by who may change a service.
        *(_crud("messaging", "messagingservice", "serviceauthentication") - VIEWER_PERMISSIONS),
        *(_crud("messaging", "doctorrun") - VIEWER_PERMISSIONS),
        # Records written by the system, never by a person: deleting or forging them would
        # rewrite what happened.
        "messaging.add_callback",
        "messaging.delete_callback",
        "conversations.add_contact",
        "conversations.delete_contact",
        *(_crud("conversations", "message", "contactevent") - VIEWER_PERMISSIONS),
        *(_crud("integrations", "delivery", "integrationversion") - VIEWER_PERMISSIONS),
        *(_crud("configurator", "auditentry", "workerheartbeat") - VIEWER_PERMISSIONS),
        *(_crud("cockpit", "hourlycount") - VIEWER_PERMISSIONS),
        # Moving a whole landscape's configuration (secrets excepted) in or out.
        "configurator.export_configuration",
        "configurator.import_configuration",
        # Django's and the libraries' own tables: the admin's history, content types,
        # sessions, the login lockouts (user names, addresses) and background task rows
        # (their arguments).
        *_crud("admin", "logentry"),
        *_crud("contenttypes", "contenttype"),
        *_crud("sessions", "session"),
        *_crud("axes", "accessattempt", "accessfailurelog", "accesslog", "accessattemptexpiration"),
        *_crud("django_tasks_database", "dbtaskresult"),
    }
)

ROLES: dict[str, frozenset[str]] = {
    ADMINISTRATOR: (
        VIEWER_PERMISSIONS
        | INTEGRATION_DEVELOPER_PERMISSIONS
        | SUPERVISOR_PERMISSIONS
        | ADMINISTRATOR_ONLY
    ),
    INTEGRATION_DEVELOPER: INTEGRATION_DEVELOPER_PERMISSIONS,
    SUPERVISOR: SUPERVISOR_PERMISSIONS,
    VIEWER: VIEWER_PERMISSIONS,
}

# What each role is for, as the user admin's help says it.
ROLE_DESCRIPTIONS: dict[str, Any] = {
    ADMINISTRATOR: _("everything, including users, roles and API tokens"),
    INTEGRATION_DEVELOPER: _(
        "integrations, their deliveries and test runs with sample contacts; no messaging "
        "secrets, no contacts' personal data"
    ),
    SUPERVISOR: _(
        "queues, agents, conversations and their actions, callbacks; configuration read-only"
    ),
    VIEWER: _("read-only everywhere except secrets, tokens and personal data"),
}


def permissions_create(*, apps: Any) -> None:
    """Create every model's permissions now, as post_migrate would after the migrations.

    A data migration runs before post_migrate: on a fresh database the permissions the roles
    hand out do not exist yet.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # The migration state's app configs have no models module; create_permissions skips
        # such apps.
        had_module = getattr(app_config, "models_module", None)
        app_config.models_module = had_module or True
        try:
            create_permissions(app_config, verbosity=0, apps=apps)
        finally:
            app_config.models_module = had_module


def roles_apply(*, apps: Any = None) -> None:
    """Make the role groups hold exactly the permissions of `ROLES` (created if missing).

    `apps` is a migration's state (default: the current models). A permission of the table
    that does not exist yet (a model a later migration adds) is left for that migration's own
    call; groups that are not roles are left alone.
    """
    if apps is None:
        from django.apps import apps as current_apps

        apps = current_apps
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    existing = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in permission_model.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for name, permissions in ROLES.items():
        group, _created = group_model.objects.get_or_create(name=name)
        group.permissions.set([existing[p] for p in sorted(permissions) if p in existing])


def role_names(groups: Iterable[Any]) -> list[str]:
    """The roles among `groups` (a user's), in the table's order."""
    names = {group.name for group in groups}
    return [name for name in ROLES if name in names]


def user_staff_for_roles(*, user: Any) -> bool:
    """Make a user who holds a role staff (the admin and the API let only staff in).

    Answers whether the user was changed.
    """
    if user.is_staff or not role_names(user.groups.all()):
        return False
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return True
