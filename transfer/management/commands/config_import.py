"""`manage.py config_import F [--dry-run] [--prune] [--map-connection OLD=NEW] [--map-app
OLD=NEW] [--secrets S]`: plan, then apply a configuration document in one transaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from transfer.document import SecretsSerializer
from transfer.plan import mapping_of, mapping_problems, pairs
from transfer.presenting import plan_lines
from transfer.services import DocumentRefused, config_import


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"{what} {path}: {exc.strerror}.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CommandError(f"{what} {path} is not JSON: {exc}") from None


class Command(BaseCommand):
    help = (
        "Import a configuration document: show the plan (create / update / unchanged, with "
        "field changes), then apply it in one transaction. Nothing is deleted without --prune."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="A document written by config_export.")
        parser.add_argument("--dry-run", action="store_true", help="Show the plan and errors only.")
        parser.add_argument(
            "--prune", action="store_true", help="Delete stored objects the document lacks."
        )
        parser.add_argument(
            "--map-connection",
            action="append",
            default=[],
            metavar="OLD=NEW",
            help="Move services' region/project, e.g. eu/my-project=us/my-project-us.",
        )
        parser.add_argument(
            "--map-app",
            action="append",
            default=[],
            metavar="OLD=NEW",
            help="Replace an app ID in service entries and queue addresses.",
        )
        parser.add_argument(
            "--secrets",
            help='JSON file {"services"|"integrations": {name: {authentication ID: secret}}}.',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            connections = pairs(options["map_connection"], "--map-connection")
            apps = pairs(options["map_app"], "--map-app")
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        problems = mapping_problems(connections, apps)
        if problems:
            raise CommandError(" ".join(m for messages in problems.values() for m in messages))
        secrets: Any = {}
        if options["secrets"]:
            checked = SecretsSerializer(data=_read_json(options["secrets"], "Secrets file"))
            if not checked.is_valid():
                raise CommandError(f"Secrets file: {json.dumps(checked.errors)}")
            secrets = checked.validated_data
        try:
            result = config_import(
                document=_read_json(options["file"], "File"),
                mapping=mapping_of(connections, apps),
                secrets=secrets,
                prune=options["prune"],
                dry_run=options["dry_run"],
            )
        except DocumentRefused as exc:
            raise CommandError(
                f"{options['file']} is not a configuration document: {json.dumps(exc.errors)}"
            ) from None
        for line in plan_lines(result):
            self.stdout.write(line)
        if result.errors:
            raise CommandError("Nothing was imported.")
