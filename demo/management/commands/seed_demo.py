"""Fill the database with a demo contact center's month: `--scale small` or `large`."""

from argparse import ArgumentParser
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from configurator import audit
from demo.dataset import database_has_data, demo_dataset_build
from demo.scales import SCALES


class Command(BaseCommand):
    help = (
        "Insert a demo dataset with bulk inserts: `small` (20 queues, 300 contacts, 3,000 "
        "callbacks; seconds on SQLite) or `large` (10,000 queues, 100,000 contacts, 1,000,000 "
        "callbacks, 200,000 deliveries; a few minutes on PostgreSQL). Refuses a database that "
        "already holds services, queues, agents, contacts or integrations unless --add, and "
        "refuses to run with DEBUG off (production) unless --not-production."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--scale", choices=sorted(SCALES), required=True)
        parser.add_argument(
            "--add",
            action="store_true",
            help="Add the dataset on top of the data already there (names get a fresh tag).",
        )
        parser.add_argument(
            "--not-production",
            action="store_true",
            help="Run although DEBUG is off: say so only for a database nobody depends on.",
        )

    def handle(
        self, *args: Any, scale: str, add: bool, not_production: bool, **options: Any
    ) -> None:
        database = connection.settings_dict["NAME"]
        if not settings.DEBUG and not not_production:
            raise CommandError(
                f"DEBUG is off, so this looks like a production server (database {database}). "
                "seed_demo adds thousands of made-up conversations; if this database is a "
                "scratch one, run again with --not-production."
            )
        if database_has_data() and not add:
            raise CommandError(
                f"The database {database} already holds data; nothing was added. Use an empty "
                "database, or --add to put the demo dataset on top of what is there."
            )
        self.stdout.write(f"Seeding a {scale} demo dataset into {connection.vendor} {database}")
        # Made-up rows nobody configured: the audit trail records none of them (its cost is
        # small, ~0.06 s of a 1 s small seed, but 18 to 120 "create" entries of demo
        # integrations would only bury the real ones; docs/governance.md).
        with audit.disabled():
            counts = demo_dataset_build(scale=scale, report=self._report)
        # The demo's rows are dated over past days, which the home page's hourly counts may
        # already hold as final (counted before the seed): forget them, so the workers count
        # those hours again. Looked up by name: nothing imports the cockpit app.
        if apps.is_installed("cockpit"):
            apps.get_model("cockpit", "HourlyCount").objects.all().delete()
        self.stdout.write(
            self.style.SUCCESS(", ".join(f"{rows:,} {kind}" for kind, rows in counts.items()))
        )

    def _report(self, line: str) -> None:
        self.stdout.write(f"  {line}")
