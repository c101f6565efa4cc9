"""Django's command line for Configurator: `manage.py`, `python -m configurator` and the
`configurator` command of an installed copy all start here."""

import os
import sys


def main() -> None:
    """Run a management command with the project's settings unless others are named."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "configurator.settings")
    from django.core.management import execute_from_command_line

    from configurator import audit

    # What a command changes is recorded as done through a command (db_worker says worker, and
    # the run command's web server sets admin or API per request).
    with audit.via(audit.AuditVia.COMMAND):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
