"""gunicorn's configuration: its own lines (boot, workers, errors, access) in the project's format.

Used as `gunicorn -c python:configurator.gunicorn_config configurator.wsgi …`. Without it,
gunicorn writes its lines as plain text (`[2026-11-28 08:00:46 +0000] [27861] [ERROR] Worker
(pid:27866) was sent SIGKILL!`), which breaks a LOG_FORMAT=json stream. Here its loggers get
the handler of settings.LOGGING (the same formatter, the same log-context filter), so the format
is decided in one place, the settings.

gunicorn's access lines (`gunicorn.access`) are off unless GUNICORN_ACCESS_LOG=true: the proxy
in front logs requests already, and a line per webhook request costs throughput.
"""

from __future__ import annotations

import copy
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "configurator.settings")

from django.conf import settings

ACCESS_LOG = os.environ.get("GUNICORN_ACCESS_LOG", "").lower() in ("1", "true", "yes", "on")


def logging_config() -> dict[str, Any]:
    """settings.LOGGING, with gunicorn's loggers writing through its console handler."""
    config: dict[str, Any] = copy.deepcopy(settings.LOGGING)
    level = config["root"]["level"]
    loggers = config.setdefault("loggers", {})
    loggers["gunicorn.error"] = {"level": level, "handlers": ["console"], "propagate": False}
    loggers["gunicorn.access"] = {
        "level": "INFO" if ACCESS_LOG else "WARNING",
        "handlers": ["console"],
        "propagate": False,
    }
    return config


# Read by gunicorn (its `logconfig_dict` setting): applied with logging.config.dictConfig.
logconfig_dict = logging_config()
