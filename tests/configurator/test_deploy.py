"""The production environment of docs/deployment.md passes Django's deployment checks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

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


def _check_deploy(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def test_documented_environment_is_the_production_one() -> None:
    documented = documented_environment()

    assert documented["DEBUG"] == "false"
    assert documented["SECURE_SSL_REDIRECT"] == "true"
    assert {"SECRET_KEY", "SECRETS_ENCRYPTION_KEYS", "DATABASE_URL", "ALLOWED_HOSTS"} <= set(
        documented
    )


def test_check_deploy_is_clean_with_the_documented_environment(tmp_path: Path) -> None:
    result = _check_deploy(_production_env(tmp_path), tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr


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
    result = _check_deploy(_production_env(tmp_path, drop), tmp_path)

    assert result.returncode == 1
    assert set(re.findall(r"\((\w+\.[EW]\d+)\)", result.stderr)) == warnings, result.stderr


def test_login_lockout_and_token_limits_are_on_and_read_from_the_environment(
    tmp_path: Path,
) -> None:
    env = {
        **_production_env(tmp_path),
        "AXES_FAILURE_LIMIT": "7",
        "AXES_COOLOFF_MINUTES": "30",
        "API_AUTH_FAILURE_RATE": "20/hour",
    }
    show = (
        "from django.conf import settings as s; "
        "print(s.AXES_ENABLED, s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME, "
        "s.AXES_LOCKOUT_PARAMETERS, s.API_AUTH_FAILURE_RATE, s.API_DOCS_PUBLIC, "
        "'axes.middleware.AxesMiddleware' in s.MIDDLEWARE, "
        "s.AUTHENTICATION_BACKENDS[0], 'rest_framework.authtoken' in s.INSTALLED_APPS)"
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "--no-imports", "-c", show],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == (
        "True 7 0:30:00 ['ip_address'] 20/hour False True axes.backends.AxesStandaloneBackend False"
    )
