"""Benchmark settings: the production settings plus one bare view to compare against."""

from typing import Any, cast

from configurator.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
DEBUG = False
cast(dict[str, Any], LOGGING["root"])["level"] = "ERROR"  # noqa: F405 - refusals are not the subject here
