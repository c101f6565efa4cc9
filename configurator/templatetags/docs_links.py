"""`{% docs_links opts %}`: the links from an admin form to its documentation (docs_pages)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from configurator import docs_pages

register = template.Library()


@register.simple_tag
def docs_links(opts: Any) -> SafeString | str:
    """The "Documentation:" line of the model's pages, or nothing."""
    return docs_pages.docs_links_html(opts.app_label, opts.model_name)
