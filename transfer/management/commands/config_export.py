"""`manage.py config_export [--output F]`: the configuration as one JSON document, no secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from transfer.document import config_export, document_text


class Command(BaseCommand):
    help = "Export messaging services, queues, agents and integrations (no secrets) as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        text = document_text(config_export())
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"Configuration written to {options['output']}.")
        else:
            self.stdout.write(text, ending="")
