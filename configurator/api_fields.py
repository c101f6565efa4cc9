"""Serializer fields shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class SecretWriteField(serializers.CharField):
    """A secret in an API body: accepted, never returned; omitted on update keeps the stored one."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("write_only", True)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("style", {"input_type": "password"})
        kwargs.setdefault("help_text", "Write-only. Omit on update to keep the stored secret.")
        super().__init__(**kwargs)
