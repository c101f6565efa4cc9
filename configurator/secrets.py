"""Secrets at rest: a model field that stores Fernet tokens and never shows the plaintext.

Keys come from SECRETS_ENCRYPTION_KEYS (comma-separated Fernet keys): the first encrypts, every
key decrypts, so keys rotate by putting a new key first and re-saving (`rotate_secrets`).
In Python a stored secret is a `SecretValue`, whose repr/str are masked so that it cannot leak
into logs, error pages or templates by accident; `reveal()` is the one explicit way to read it.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Collection, Mapping
from functools import cache
from typing import Any
from urllib.parse import quote, quote_plus

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

MASK = "********"


@cache
def _fernet() -> MultiFernet:
    from django.conf import settings

    keys = [key.strip() for key in settings.SECRETS_ENCRYPTION_KEYS if key.strip()]
    if not keys:
        raise ImproperlyConfigured(
            "SECRETS_ENCRYPTION_KEYS is empty: set it to one or more Fernet keys "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())')."
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"SECRETS_ENCRYPTION_KEYS holds an invalid key: {exc}") from None


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs: Any) -> None:
    if setting == "SECRETS_ENCRYPTION_KEYS":
        _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    """Encrypt with the first key."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt with whichever configured key made the token."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with SECRETS_ENCRYPTION_KEYS: "
            "was the key that encrypted it removed?"
        ) from None


class SecretValue:
    """A secret held in memory: masked when printed, read only through `reveal()`."""

    __slots__ = ("_plaintext", "_token")

    def __init__(self, *, plaintext: str | None = None, token: str | None = None) -> None:
        if plaintext is None and token is None:
            raise ValueError("a SecretValue needs a plaintext or a token")
        self._plaintext = plaintext
        self._token = token

    def reveal(self) -> str:
        """The plaintext, decrypted on first use."""
        if self._plaintext is None:
            assert self._token is not None  # noqa: S101 - guaranteed by __init__
            self._plaintext = decrypt(self._token)
        return self._plaintext

    def token(self) -> str:
        """The ciphertext to store; a stored token is kept as it is (no re-encryption)."""
        if self._token is None:
            assert self._plaintext is not None  # noqa: S101 - guaranteed by __init__
            self._token = encrypt(self._plaintext)
        return self._token

    def rotated(self) -> SecretValue:
        """The same secret encrypted again with the current first key."""
        return SecretValue(plaintext=self.reveal())

    def __repr__(self) -> str:
        return f"SecretValue('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretValue):
            return NotImplemented
        return self.reveal() == other.reveal()

    def __hash__(self) -> int:
        return hash(self.reveal())


class SecretInput(forms.PasswordInput):
    """A password box that never renders the stored value back into the page."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=False
        )


class SecretFormField(forms.CharField):
    """Form field for a secret: write-only; an empty entry on an existing object keeps it."""

    widget = SecretInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("strip", False)
        kwargs.setdefault("help_text", _("Write-only. Leave empty to keep the stored secret."))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return None

    def has_changed(self, initial: Any, data: Any) -> bool:
        return bool(data)


class EncryptedSecretField(models.TextField[Any, Any]):
    """Stores a Fernet token; reads back a `SecretValue`."""

    description = _("Encrypted secret")

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return None
        return SecretValue(token=value)

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, SecretValue):
            return value
        if value == "":
            return None
        return SecretValue(plaintext=str(value))

    def get_prep_value(self, value: Any) -> Any:
        value = self.to_python(value)
        if value is None:
            return None
        return value.token()

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        return value.token() if isinstance(value, SecretValue) else ""

    def formfield(  # type: ignore[override]
        self, **kwargs: Any
    ) -> forms.Field | None:
        return super().formfield(**{"form_class": SecretFormField, "widget": SecretInput, **kwargs})


# A record cut off in the middle of a secret would keep its beginning: a cut-off tail this long
# that starts a secret is masked too.
MIN_TAIL_MASKED = 4


def secret_forms(secrets: Collection[str]) -> list[str]:
    """Each secret as it may appear in an answer; longest first, so that a secret containing
    another is masked whole.

    As sent; JSON-escaped (also with escaped slashes, as PHP writes it); URL-encoded (upper- and
    lower-case escapes, as .NET writes them); HTML/XML-escaped; and in base64.
    """
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        encoded = {
            quote(secret, safe=""),  # in the URL's path, as render_text encodes
            quote_plus(secret, safe=""),  # in the query, as requests encodes params
        }
        escaped = {json.dumps(secret, ensure_ascii=False)[1:-1], json.dumps(secret)[1:-1]}
        forms.update(
            {
                secret,
                *escaped,
                *(form.replace("/", "\\/") for form in escaped),
                *encoded,
                *(_PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), form) for form in encoded),
                html.escape(secret, quote=True),
                html.escape(secret, quote=False),
                base64.b64encode(secret.encode()).decode(),
            }
        )
    return sorted(forms, key=len, reverse=True)


_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def mask_secrets(value: Any, secrets: Collection[str], *, cut_off: bool = False) -> Any:
    """`value` (text, or JSON of any depth) with every form of every secret replaced by MASK.

    `cut_off` says the text may have been cut at its end (an excerpt): a tail that begins a
    secret is masked as well.
    """
    forms = secret_forms(secrets)
    if not forms:
        return value
    return _mask(value, forms, cut_off)


def _mask(value: Any, forms: list[str], cut_off: bool) -> Any:
    if isinstance(value, str):
        for form in forms:
            value = value.replace(form, MASK)
        if cut_off:
            value = _mask_tail(value, forms)
        return value
    if isinstance(value, Mapping):
        return {_mask(key, forms, False): _mask(item, forms, False) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(item, forms, False) for item in value]
    return value


def _mask_tail(text: str, forms: list[str]) -> str:
    for form in forms:
        for length in range(len(form) - 1, MIN_TAIL_MASKED - 1, -1):
            if text.endswith(form[:length]):
                return text[:-length] + MASK
    return text
