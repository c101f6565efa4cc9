"""Remove every callback, delivery, contact event and task result past its retention now."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from configurator import retention


class Command(BaseCommand):
    help = (
        "Delete the records older than their retention settings (CALLBACKS_RETENTION_DAYS, "
        "DELIVERIES_RETENTION_DAYS, CONTACT_EVENTS_RETENTION_DAYS, TASK_RESULTS_RETENTION_DAYS), "
        "in batches, and print how many rows each table lost. The workers do this on their own "
        "every PRUNE_INTERVAL_SECONDS; this command is for doing it now, or seeing what is due."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what is due; delete nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help="Rows per batch (one short transaction each); default PRUNE_BATCH_SIZE.",
        )

    def handle(self, *args: Any, dry_run: bool, batch_size: int | None, **options: Any) -> None:
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        run = retention.prune(dry_run=dry_run, batch_size=batch_size)
        verb = "would remove" if dry_run else "removed"
        for tally in run.tables.values():
            if tally.kept_for_ever:
                self.stdout.write(f"{tally.table}: kept for ever")
            elif dry_run:
                self.stdout.write(f"{tally.table}: {verb} {tally.rows}")
            else:
                self.stdout.write(f"{tally.table}: {verb} {tally.rows} in {tally.batches} batches")
        if dry_run:
            # Rows that other due rows still refer to (a contact's events, while it has
            # deliveries) only become due once those are gone: a dry run cannot count them.
            self.stdout.write(
                "Counts are what is due now; a real run may remove more, as removing one kind "
                "(deliveries) frees rows that refer to it (their contacts' events)."
            )
