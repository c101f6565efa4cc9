"""The encrypted secret field: masked in memory, encrypted at rest, keys that rotate."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from configurator.secrets import SecretFormField, SecretInput, SecretValue, decrypt, encrypt
from messaging.models import ServiceAuthentication
from tests.factories import make_service


def test_secret_value_is_masked_when_printed() -> None:
    secret = SecretValue(plaintext="hunter2-very-secret")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == "hunter2-very-secret"


def test_form_field_never_renders_a_value() -> None:
    widget = SecretFormField().widget
    assert isinstance(widget, SecretInput)
    html = widget.render("secret", SecretValue(plaintext="hunter2"))
    assert "hunter2" not in html
    assert 'value="' not in html


def test_first_key_encrypts_and_every_key_decrypts() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(SECRETS_ENCRYPTION_KEYS=[old]):
        token = encrypt("rotate-me")
    with override_settings(SECRETS_ENCRYPTION_KEYS=[new, old]):
        assert decrypt(token) == "rotate-me"
        assert Fernet(new.encode()).decrypt(encrypt("x").encode()) == b"x"
    with (
        override_settings(SECRETS_ENCRYPTION_KEYS=[new]),
        pytest.raises(ImproperlyConfigured, match="cannot be decrypted"),
    ):
        decrypt(token)


def test_missing_keys_are_a_clear_configuration_error() -> None:
    with (
        override_settings(SECRETS_ENCRYPTION_KEYS=[]),
        pytest.raises(ImproperlyConfigured, match="SECRETS_ENCRYPTION_KEYS is empty"),
    ):
        encrypt("x")


@pytest.mark.django_db
def test_rotate_secrets_reencrypts_with_the_first_key() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(SECRETS_ENCRYPTION_KEYS=[old]):
        make_service()
    with override_settings(SECRETS_ENCRYPTION_KEYS=[new, old]):
        call_command("rotate_secrets", verbosity=0)
    with override_settings(SECRETS_ENCRYPTION_KEYS=[new]):
        secrets = sorted(a.secret.reveal() for a in ServiceAuthentication.objects.all())
    assert secrets == ["access-key-secret", "webhook-secret-0123456789"]


@pytest.mark.django_db
def test_saving_without_change_keeps_the_stored_token() -> None:
    service = make_service()
    row = ServiceAuthentication.objects.filter(service=service).first()
    assert row is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM messaging_serviceauthentication WHERE id = %s", [row.pk])
        before = cursor.fetchone()[0]
    row.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM messaging_serviceauthentication WHERE id = %s", [row.pk])
        assert cursor.fetchone()[0] == before
