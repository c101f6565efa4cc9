"""`manage.py drf_create_token <user>`: DRF's command, for the hashed tokens kept here.

DRF's own command printed the user's one stored key again; keys are stored hashed now, so every
run issues a new token and prints its key once (`--reset` revokes the user's others first).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from configurator.tokens import api_token_create, api_tokens_revoke, api_tokens_visible


class Command(BaseCommand):
    help = (
        "Create an API token for the given user and print its key (shown this once; only a "
        "digest is stored). --reset revokes the user's other tokens."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", type=str)
        parser.add_argument(
            "-r",
            "--reset",
            action="store_true",
            dest="reset_token",
            default=False,
            help="Revoke the user's existing tokens before creating the new one",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        users = get_user_model()
        try:
            user = users._default_manager.get_by_natural_key(username)
        except users.DoesNotExist:
            raise CommandError(f"Cannot create the Token: user {username} does not exist") from None
        if options["reset_token"]:
            revoked = api_tokens_revoke(tokens=api_tokens_visible(user=user).filter(user=user))
            if revoked:
                self.stderr.write(f"Revoked {revoked} earlier token(s) of {username}.")
        _, key = api_token_create(user=user)
        self.stdout.write(f"Generated token {key} for user {username}")
