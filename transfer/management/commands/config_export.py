"""`manage.py config_export [--output F]`: the configuration as one JSON document, no secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from transfer.document import ExportRefused, config_export, document_text


class Command(BaseCommand):
    help = "Export messaging services, queues, agents and integrations (no secrets) as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = document_text(config_export())
        except ExportRefused as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if options["output"]:
            try:
                Path(options["output"]).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"{options['output']}: {exc.strerror}.") from None
            self.stderr.write(f"Configuration written to {options['output']}.")
        else:
            self.stdout.write(text, ending="")
