"""Reads of the audit trail: its entries with what a list shows of them, in one query."""

from __future__ import annotations

from typing import Any

from django.apps import apps
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

    # A proxy's entries are filed under its concrete model (a token under knox's): one choice.
    models = [m for m in audit.audited_models() if not m._meta.proxy]
    names = [str(m._meta.verbose_name).capitalize() for m in models]
    return sorted(
        (
            model._meta.label_lower,
            # Two kinds of the same name (authentication entries of services and integrations)
            # are told apart by their app.
            f"{name} ({model._meta.app_config.verbose_name})" if names.count(name) > 1 else name,
        )
        for model, name in zip(models, names, strict=True)
    )


def object_type_of(label: str) -> ContentType | None:
    """The content type of `app_label.model`, from Django's cache; None when it is none."""
    try:
        model: type[Model] = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    return ContentType.objects.get_for_model(model)


def actor_filter(value: str) -> Q:
    """Entries by the user with this ID or this username (a username may be digits too); by
    username also those of an account deleted since."""
    if value.isdigit() and int(value) <= LARGEST_ID:
        return Q(actor_username=value) | Q(actor_id=int(value))
    return Q(actor_username=value)


def audit_entries_visible(user: Any) -> QuerySet[AuditEntry]:
    """The entries `user` may read: those about objects of a kind they may view.

    Entries about users, groups and API tokens are the Administrator's, as those pages are;
    a Viewer reads the trail of the configuration, not of who holds which rights.
    """
    from configurator import audit

    hidden = [
        ContentType.objects.get_for_model(model).pk
        for model in audit.audited_models()
        if not user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
    ]
    return audit_entry_list().exclude(content_type__in=hidden) if hidden else audit_entry_list()
