"""`{% section_link opts %}`: the breadcrumb of a model's pages names its section of the index
(System Management, Queue Management, Conversations...), not the Django app it is coded in."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from configurator.admin_site import section_of, section_slug

register = template.Library()


@register.simple_tag
def section_link(opts: Any) -> SafeString:
    """A link to the section that holds the model (or to its app, for a model in none)."""
    title = section_of(opts.app_label, opts.object_name)
    if title is None:
        url = reverse("admin:app_list", kwargs={"app_label": opts.app_label})
        return format_html('<a href="{}">{}</a>', url, opts.app_config.verbose_name)
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:section", args=[section_slug(title)]), title
    )
