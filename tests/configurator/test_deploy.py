"""The production settings pass Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def _production_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "configurator.settings",
        "SECRET_KEY": "k" * 20 + "production-like-secret-key-with-enough-entropy-42",
        "SECRETS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "configurator.example.com",
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "SECURE_HSTS_PRELOAD": "true",
    }


def test_check_deploy_is_clean_with_production_environment(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    # Every value that matters is given explicitly: a developer's .env never overrides them.
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


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
