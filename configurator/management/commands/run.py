"""Start Configurator locally: migrations, an administrator, the worker and the web server."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = (
        "Run Configurator on this machine: apply migrations, make sure an administrator "
        "exists, start a background worker (db_worker) and the web server beside it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        login = self._ensure_admin()
        worker = subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--interval",
                "0.2",
                "--no-reload",
                "--no-startup-delay",
            ],
            cwd=settings.BASE_DIR,
        )
        url = f"http://{options['host']}:{options['port']}/admin/"
        self.stdout.write(
            self.style.SUCCESS(f"\nConfigurator is starting at {url}\n")
            + f"{login}\nBackground worker: pid {worker.pid}. Stop both with Ctrl+C.\n"
        )
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            call_command("runserver", f"{options['host']}:{options['port']}", use_reloader=False)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()

    def _ensure_admin(self) -> str:
        """Create the `admin` superuser on first start; say how to log in."""
        users = get_user_model()
        password = settings.ADMIN_PASSWORD
        if users.objects.filter(is_superuser=True).exists():
            if users.objects.filter(username=ADMIN_USERNAME, is_superuser=True).exists():
                return (
                    f"Log in as “{ADMIN_USERNAME}”"
                    + (
                        f" with password “{password}” (ADMIN_PASSWORD in .env)."
                        if password
                        else "."
                    )
                    + " If you changed it, `python manage.py changepassword admin` resets it."
                )
            return "Log in with your administrator account."
        if not password:
            self.stderr.write("ADMIN_PASSWORD is not set: create an account with createsuperuser.")
            return "No administrator yet: run `python manage.py createsuperuser`."
        users.objects.create_superuser(ADMIN_USERNAME, "", password)
        return (
            f"Created the administrator “{ADMIN_USERNAME}” with password “{password}” "
            "(ADMIN_PASSWORD in .env)."
        )
