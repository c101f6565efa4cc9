"""Admin of API tokens: listed by prefix, created with the key shown once, revoked.

A token acts as its owner, so a staff user with the token permissions sees and revokes only
their own tokens and creates tokens only for themselves; a superuser or the Administrator role
(`configurator.tokens.api_tokens_manage_all`) manages everyone's. No page shows a key after the one
that created it, and nothing but the key's first characters is ever listed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from configurator import admin_thirdparty, admin_users
from configurator.audit_admin import AuditEntryAdmin, AuditHistoryMixin
from configurator.models import ApiToken, AuditEntry, WorkerHeartbeat
from configurator.tokens import (
    api_token_create,
    api_tokens_manage_all,
    api_tokens_revoke,
    api_tokens_visible,
)


def third_party_admins_replace() -> None:
    """Take down the pages other apps register that must not be shown as they are.

    Called by the admin's AppConfig.ready() once every app's admin module is imported.
    knox's own page lists every token's digest and lets staff create tokens for anyone: tokens
    are managed on the ApiToken page below instead. django-tasks-db's and axes' pages are
    replaced by bounded ones (`admin_thirdparty`), django-auditlog's by the audit trail's.
    """
    if admin.site.is_registered(AuthToken):
        admin.site.unregister(AuthToken)
    # django-auditlog's page counts the whole table per view and is replaced by the audit trail's
    # own page (configurator's admin).
    if admin.site.is_registered(AuditEntry):
        admin.site.unregister(AuditEntry)
    admin.site.register(AuditEntry, AuditEntryAdmin)
    # Users' (with their roles) and groups' pages: their History shows the audit trail too.
    admin_users.user_admin_replace()
    admin_thirdparty.bounded_admins_register()


class ApiTokenCreateForm(forms.Form):
    """Whose token (who manages all tokens chooses; others get their own) and an expiry."""

    user = forms.ModelChoiceField(
        label=_("User"),
        queryset=get_user_model()._default_manager.none(),
        help_text=_("The token acts as this user, with this user's permissions."),
    )
    expires_at = forms.DateTimeField(
        label=_("Expires"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Leave empty for a token that stays valid until it is revoked."),
    )

    def __init__(self, *args: Any, request_user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = get_user_model()._default_manager.filter(is_active=True)
        field = self.fields["user"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - narrows the type
        if api_tokens_manage_all(user=request_user):
            field.queryset = users.filter(is_staff=True).order_by("username")
        else:
            field.queryset = users.filter(pk=request_user.pk)
        field.initial = request_user.pk

    def clean_expires_at(self) -> datetime | None:
        value: datetime | None = self.cleaned_data.get("expires_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError(_("The expiry must be in the future."))
        return value


@admin.register(ApiToken)
class ApiTokenAdmin(AuditHistoryMixin, admin.ModelAdmin[ApiToken]):
    """API tokens: prefix, owner, created, expiry; create (key shown once) and revoke."""

    # Django's admin history would file a token under its primary key, the digest: the audit
    # trail records tokens by their key's first characters instead (configurator.audit).
    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> None:  # type: ignore[override]
        return None

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> None:  # type: ignore[override]
        return None

    def log_deletion(self, request: HttpRequest, obj: Any, object_repr: str) -> None:  # type: ignore[override]
        return None

    def log_deletions(self, request: HttpRequest, queryset: Any) -> None:  # type: ignore[override]
        return None

    list_display = ["prefix_shown", "user", "created", "expiry"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["prefix_shown", "user", "created", "expiry"]
    readonly_fields = ["prefix_shown", "user", "created", "expiry"]
    actions = ["revoke_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        return api_tokens_visible(user=request.user)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # "Revoke" says what it does
        return found

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a token is revoked and replaced, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not _manages(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not _manages(request, obj):
            return False
        return super().has_view_permission(request, obj)

    @admin.display(description=_("key starts with"), ordering="token_key")
    def prefix_shown(self, obj: ApiToken) -> str:
        return f"{obj.prefix}…"

    @admin.action(description=_("Revoke selected API tokens"), permissions=["delete"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        mine = queryset & api_tokens_visible(user=request.user)
        count = api_tokens_revoke(tokens=mine)
        messages.success(request, _("%(count)s API token(s) revoked.") % {"count": count})

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """A form for whose token and until when; the answer shows the key, this once."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiTokenCreateForm(request.POST or None, request_user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Create an API token"),
            "form": form,
            "has_view_permission": self.has_view_permission(request),
        }
        if request.method == "POST" and form.is_valid():
            token, key = api_token_create(
                user=form.cleaned_data["user"], expires_at=form.cleaned_data["expires_at"]
            )
            self.log_addition(request, token, [{"added": {}}])
            context.update({"title": _("API token created"), "token": token, "key": key})
            response = TemplateResponse(
                request, "admin/configurator/apitoken/created.html", context
            )
            # The key must not be kept by the browser's or a proxy's cache.
            response["Cache-Control"] = "no-store"
            return response
        return TemplateResponse(request, "admin/configurator/apitoken/add.html", context)


def _manages(request: HttpRequest, token: ApiToken) -> bool:
    user: Any = request.user
    return bool(api_tokens_manage_all(user=user) or token.user_id == user.pk)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin[WorkerHeartbeat]):
    """The `db_worker` processes as last seen (the home page's worker figure links here).

    Read-only: the rows are the workers' own heartbeats, removed a day after a worker stops.
    """

    list_display = ["worker_id", "hostname", "pid", "started_at", "seen_at", "running"]
    ordering = ["-seen_at"]
    fields = ["worker_id", "hostname", "pid", "started_at", "seen_at", "running"]
    readonly_fields = ["worker_id", "hostname", "pid", "started_at", "seen_at", "running"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("running"), boolean=True)
    def running(self, obj: WorkerHeartbeat) -> bool:
        """Seen within WORKER_STALE_SECONDS, as /health/ready counts it."""
        return obj.seen_at >= timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
