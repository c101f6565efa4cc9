"""Where Configurator's code is, and whether it runs from a source checkout or an installed copy.

Imported by the settings and by `configurator.localenv`, which runs before Django starts, so it
imports nothing of Django's.
"""

from __future__ import annotations

from pathlib import Path

# The directory that holds the project's packages: the root of a source checkout, or
# site-packages when Configurator is installed with pip.
BASE_DIR = Path(__file__).resolve().parent.parent

# A source checkout keeps its local files beside the code (the `.env` that scripts/run writes,
# db.sqlite3, staticfiles/). An installed copy never reads or writes anything inside
# site-packages: its settings come from the environment only (docs/deployment.md).
SOURCE_CHECKOUT = (BASE_DIR / "manage.py").is_file() and (BASE_DIR / "pyproject.toml").is_file()

# The checkout's private settings file, written on first start by scripts/run.
LOCAL_ENV_FILE = BASE_DIR / ".env"
