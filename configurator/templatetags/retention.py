"""`{% retention_notice opts %}`: the retention in force, above an admin list of pruned rows."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from configurator import retention

register = template.Library()


@register.simple_tag
def retention_notice(opts: Any) -> SafeString | str:
    """One line saying how long the list's rows are kept, or nothing if none are pruned."""
    text = retention.notice(opts.model)
    return format_html('<p class="help retention-notice">{}</p>', text) if text else ""
