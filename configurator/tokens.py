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


def api_tokens_visible(*, user: Any) -> QuerySet[ApiToken]:
    """The tokens `user` may see and revoke: a superuser's all, anyone else's their own."""
    tokens: QuerySet[ApiToken] = ApiToken.objects.select_related("user").order_by("-created")
    if user.is_superuser:
        return tokens
    return tokens.filter(user=user)
