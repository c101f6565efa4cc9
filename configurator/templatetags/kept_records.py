"""`{% kept_records perms_lacking as kept %}`: which of the kinds Django's delete page says the
user may not delete are records no one may delete (callbacks, deliveries, messages, events: a log
that only retention removes), so that the page says so instead of blaming a permission."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib import admin
from django.http import HttpRequest

register = template.Library()


@register.simple_tag(takes_context=True)
def kept_records(context: dict[str, Any], perms_lacking: Any) -> dict[str, list[str]]:
    """{"kept": [...], "lacking": [...]}: `kept` holds the kinds whose admin refuses deletion to
    a user who has the permission to delete them; `lacking` the kinds the user lacks it for."""
    request = context.get("request")
    names = [str(name) for name in perms_lacking or []]
    if not isinstance(request, HttpRequest):
        return {"kept": [], "lacking": names}
    user = request.user
    refused_to_all = set()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        permitted = user.has_perm(f"{opts.app_label}.delete_{opts.model_name}")
        if permitted and not model_admin.has_delete_permission(request):
            refused_to_all.add(str(opts.verbose_name))
    return {
        "kept": [name for name in names if name in refused_to_all],
        "lacking": [name for name in names if name not in refused_to_all],
    }
