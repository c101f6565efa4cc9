"""The production environment of docs/deployment.md passes Django's deployment checks.

The checks run in this process (a subprocess per check cost a Django start-up each): the settings
module is executed afresh with the documented environment and nothing else (tests.settingsrun),
as a production process would read it, and Django's settings are swapped for what it made of it
while `manage.py check --deploy` runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

import tests.settings
from tests.settingsrun import settings_read_from

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"
PLACEHOLDER = re.compile(r"<[^>]*>")


def documented_environment() -> dict[str, str]:
    """The production environment block of docs/deployment.md ("Environment"), as written."""
    section = DEPLOYMENT_DOC.read_text().split("\n## Environment\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "docs/deployment.md: no ```sh block under ## Environment"
    variables: dict[str, str] = {}
    for line in block.group(1).splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            variables[name] = value
    return variables


def _production_env(tmp_path: Path, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """The documented block with its `<…>` placeholders filled in, and nothing else.

    Every value the settings read is given explicitly, so a developer's .env never overrides it.
    """
    filled = {
        "SECRET_KEY": "k" * 20 + "production-like-secret-key-with-enough-entropy-42",
        "SECRETS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    documented = documented_environment()
    assert {name for name, value in documented.items() if PLACEHOLDER.search(value)} == set(filled)
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "configurator.settings",
        **{name: filled.get(name, value) for name, value in documented.items() if name not in drop},
    }


@contextmanager
def settings_replaced_by(production: dict[str, Any]) -> Iterator[None]:
    """Django's settings are `production` within the block (and none of the test suite's own).

    The app registry and the database connections stay: the production settings list the same
    apps (asserted), and the checks `check --deploy` runs open no database connection.
    """
    assert production["INSTALLED_APPS"] == settings.INSTALLED_APPS
    kept = {"INSTALLED_APPS", "DATABASES"}
    test_only = {name for name in dir(tests.settings) if name.isupper()} - set(production)
    with override_settings(**{name: v for name, v in production.items() if name not in kept}):
        for name in test_only:
            delattr(settings, name)
        yield


def _check_deploy(env: dict[str, str]) -> str:
    """What `manage.py check --deploy --fail-level WARNING` reports under `env` ("" when clean).

    The environment is `env` alone while the checks run too: some read it (async.E001).
    """
    production = settings_read_from(env, only=True)
    with settings_replaced_by(production), mock.patch.dict(os.environ, env, clear=True):
        try:
            call_command(
                "check", "--deploy", "--fail-level", "WARNING", stdout=StringIO(), stderr=StringIO()
            )
        except SystemCheckError as failed:
            return str(failed)
    return ""


def test_documented_environment_is_the_production_one() -> None:
    documented = documented_environment()

    assert documented["DEBUG"] == "false"
    assert documented["SECURE_SSL_REDIRECT"] == "true"
    assert {"SECRET_KEY", "SECRETS_ENCRYPTION_KEYS", "DATABASE_URL", "ALLOWED_HOSTS"} <= set(
        documented
    )


def test_check_deploy_is_clean_with_the_documented_environment(tmp_path: Path) -> None:
    assert _check_deploy(_production_env(tmp_path)) == ""


@pytest.mark.parametrize(
    "drop, warnings",
    [
        (("SECURE_HSTS_INCLUDE_SUBDOMAINS",), {"security.W005"}),
        (("SECURE_HSTS_PRELOAD",), {"security.W021"}),
        (
            ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD"),
            {"security.W005", "security.W021"},
        ),
    ],
)
def test_leaving_out_the_hsts_commitments_gives_exactly_their_warnings(
    tmp_path: Path, drop: tuple[str, ...], warnings: set[str]
) -> None:
    reported = _check_deploy(_production_env(tmp_path, drop))

    assert set(re.findall(r"\((\w+\.[EW]\d+)\)", reported)) == warnings, reported


def test_login_lockout_and_token_limits_are_on_and_read_from_the_environment(
    tmp_path: Path,
) -> None:
    env = {
        **_production_env(tmp_path),
        "AXES_FAILURE_LIMIT": "7",
        "AXES_COOLOFF_MINUTES": "30",
        "API_AUTH_FAILURE_RATE": "20/hour",
    }
    production = settings_read_from(env, only=True)

    with settings_replaced_by(production):
        shown = (
            settings.AXES_ENABLED,
            settings.AXES_FAILURE_LIMIT,
            str(settings.AXES_COOLOFF_TIME),
            settings.AXES_LOCKOUT_PARAMETERS,
            settings.API_AUTH_FAILURE_RATE,
            settings.API_DOCS_PUBLIC,
            "axes.middleware.AxesMiddleware" in settings.MIDDLEWARE,
            settings.AUTHENTICATION_BACKENDS[0],
            "rest_framework.authtoken" in settings.INSTALLED_APPS,
        )

    assert shown == (
        True,
        7,
        "0:30:00",
        ["ip_address"],
        "20/hour",
        False,
        True,
        "axes.backends.AxesStandaloneBackend",
        False,
    )
