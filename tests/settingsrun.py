"""The project's settings as a process started with a given environment would read them.

`configurator/settings.py` reads the environment once, at import; executing it afresh (not the
module this process imported) under a patched `os.environ` gives what a new process would get,
without the cost of starting one (a Django start-up each).
"""

from __future__ import annotations

import os
import runpy
from typing import Any
from unittest import mock

from tests.workers import ROOT

SETTINGS_FILE = ROOT / "configurator" / "settings.py"


def settings_read_from(environment: dict[str, str], *, only: bool = False) -> dict[str, Any]:
    """The settings (upper-case names) configurator/settings.py makes with `environment` added to
    this process's environment, or (`only`) with `environment` alone."""
    with mock.patch.dict(os.environ, environment, clear=only):
        module = runpy.run_path(str(SETTINGS_FILE))
    return {name: value for name, value in module.items() if name.isupper()}
