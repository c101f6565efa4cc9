"""Re-encrypt every stored secret with the first key of SECRETS_ENCRYPTION_KEYS."""

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from configurator.secrets import EncryptedSecretField, SecretValue


class Command(BaseCommand):
    help = (
        "Re-encrypt all secrets with the first key of SECRETS_ENCRYPTION_KEYS, so that older "
        "keys can then be removed from the list."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.get_fields() if isinstance(f, EncryptedSecretField)]
            if not fields:
                continue
            names = [f.name for f in fields]
            with transaction.atomic():
                for row in model._default_manager.select_for_update().only("pk", *names):
                    for name in names:
                        value = getattr(row, name)
                        if isinstance(value, SecretValue):
                            setattr(row, name, value.rotated())
                    row.save(update_fields=names)
                    total += 1
        self.stdout.write(f"Re-encrypted the secrets of {total} row(s) with the first key.")
