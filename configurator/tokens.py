"""API tokens: issued (the key is returned once, only its digest is kept) and revoked.

The admin, `manage.py drf_create_token` and tests all issue tokens here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from configurator.models import ApiToken


def api_token_create(*, user: Any, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; the key is in the answer and nowhere else."""
    expiry = None if expires_at is None else expires_at - timezone.now()
    token, key = ApiToken.objects.create(user=user, expiry=expiry)
    return token, key


def api_tokens_revoke(*, tokens: QuerySet[ApiToken]) -> int:
    """Revoke (delete) these tokens; the number revoked."""
    with transaction.atomic():
        count, _ = tokens.delete()
    return count


# Who manages everybody's tokens (creates them for others, sees and revokes all): a superuser or
# the Administrator role (configurator.roles). ApiToken rows are never edited, so the change
# permission is free to mean this.
MANAGE_ALL_TOKENS_PERMISSION = "configurator.change_apitoken"


def api_tokens_manage_all(*, user: Any) -> bool:
    """Whether `user` manages every user's API tokens, not only their own."""
    return bool(user.is_active and user.has_perm(MANAGE_ALL_TOKENS_PERMISSION))


def api_tokens_visible(*, user: Any) -> QuerySet[ApiToken]:
    """The tokens `user` may see and revoke: all for who manages them all, else their own."""
    tokens: QuerySet[ApiToken] = ApiToken.objects.select_related("user").order_by("-created")
    if api_tokens_manage_all(user=user):
        return tokens
    return tokens.filter(user=user)
