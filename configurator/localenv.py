"""Writes the local .env on first start: fresh random keys, never committed.

Run before Django starts (`python -m configurator.localenv`), because the settings need the keys.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from configurator.paths import LOCAL_ENV_FILE


def write_local_env(path: Path = LOCAL_ENV_FILE) -> bool:
    """Create `path` with development settings and random keys; False when it exists."""
    if path.exists():
        return False
    content = "\n".join(
        [
            "# Local settings written by scripts/run on first start. Keep this file private.",
            "DEBUG=true",
            f"SECRET_KEY={secrets.token_urlsafe(50)}",
            f"SECRETS_ENCRYPTION_KEYS={Fernet.generate_key().decode()}",
            f"ADMIN_PASSWORD={secrets.token_urlsafe(12)}",
            # This machine may read /metrics (the local server has no proxy in front of it).
            "METRICS_ALLOWED_NETWORKS=127.0.0.1/32,::1/128",
            "",
        ]
    )
    path.touch(mode=0o600)
    path.write_text(content)
    return True


if __name__ == "__main__":
    if write_local_env():
        sys.stdout.write(f"Wrote {LOCAL_ENV_FILE} with fresh random keys.\n")
