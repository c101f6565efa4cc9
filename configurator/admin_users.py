"""The user admin with roles: each user's roles in the list, a filter by role, and a user who
is given a role made staff (the admin and the API let only staff in)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from configurator.audit_admin import AuditHistoryMixin
from configurator.roles import ROLE_DESCRIPTIONS, ROLES, role_names, user_staff_for_roles


class RoleFilter(admin.SimpleListFilter):
    """Users holding one role (a fixed list: the table's roles)."""

    title = _("role")
    parameter_name = "role"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in ROLES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        if value not in ROLES:
            return queryset.none()
        return queryset.filter(groups__name=value)


class RoleUserAdmin(AuditHistoryMixin, UserAdmin[User]):
    """Django's user admin, saying each user's roles and what each role may do."""

    list_display = ("username", "email", "roles", "is_staff", "is_superuser", "is_active")
    list_filter = (RoleFilter, "is_staff", "is_superuser", "is_active")
    # Shown, not edited: the form would save them again without their microseconds, a change
    # nobody made in the audit trail.
    readonly_fields = ("last_login", "date_joined")

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        roles = Group.objects.filter(name__in=list(ROLES))
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("groups", queryset=roles, to_attr="role_groups"))
        )

    @admin.display(description=_("roles"))
    def roles(self, obj: User) -> str:
        return ", ".join(role_names(getattr(obj, "role_groups", obj.groups.all())))

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "groups" and field is not None:
            described = "; ".join(f"{name}: {ROLE_DESCRIPTIONS[name]}" for name in ROLES)
            field.help_text = _(
                "A user's roles are the groups of these names (%(roles)s). A user with a role "
                "is made staff on save: only staff users may use the admin and the API."
            ) % {"roles": described}
        return field

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if user_staff_for_roles(user=form.instance):
            messages.info(
                request,
                _("%(user)s holds a role and is now staff, so that they can sign in here.")
                % {"user": form.instance.get_username()},
            )


class AuditedGroupAdmin(AuditHistoryMixin, GroupAdmin):
    """Django's group admin, whose History shows the audit trail."""


def user_admin_replace() -> None:
    """Put the user admin with roles, and the group admin, in the place of Django's own: their
    History pages show the audit trail."""
    for model, model_admin in ((User, RoleUserAdmin), (Group, AuditedGroupAdmin)):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, model_admin)
