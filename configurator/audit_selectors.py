"""Reads of the audit trail: its entries with what a list shows of them, in one query."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet

from configurator.models import AuditEntry

# Larger numbers are no user's ID (and would overflow the database's integer).
LARGEST_ID = 2**31 - 1


def audit_entry_list() -> QuerySet[AuditEntry]:
    """Entries newest first, with their actor and object type joined (lists, API, admin)."""
    entries: QuerySet[AuditEntry] = AuditEntry.objects.select_related("actor", "content_type")
    return entries.order_by("-timestamp", "-id")


def object_type_choices() -> list[tuple[str, str]]:
    """The models entries name, as `app_label.model` (the API's `object_type` words)."""
    from configurator import audit

    return sorted(
        (model._meta.label_lower, str(model._meta.verbose_name).capitalize())
        for model in audit.audited_models()
    )


def object_type_of(label: str) -> ContentType | None:
    """The content type of `app_label.model`, from Django's cache; None when it is none."""
    try:
        model: type[Model] = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    return ContentType.objects.get_for_model(model)


def actor_filter(value: str) -> Q:
    """Entries by the user with this ID or this username (a username may be digits too)."""
    users: QuerySet[Any] = get_user_model()._default_manager.filter(username=value)
    if value.isdigit() and int(value) <= LARGEST_ID:
        users = get_user_model()._default_manager.filter(Q(username=value) | Q(pk=int(value)))
    return Q(actor__in=users.values("pk"))
