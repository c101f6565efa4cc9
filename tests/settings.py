"""Settings for the test suite: the project's settings with fixed test keys."""

import os

# The checkout's .env (scripts/run's local server) is not read: tests set what they need. Worker
# processes started by tests inherit this.
os.environ["IGNORE_LOCAL_ENV"] = "true"
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
# Two keys, so that tests can rotate; the first encrypts.
os.environ.setdefault(
    "SECRETS_ENCRYPTION_KEYS",
    "q8vQ4r1kCwJHvUQW1yYQ5q0tq0rT1Y0s0bqHc6m1l7E=,ZmFrZS1vbGQta2V5LWZvci10ZXN0cy0wMDAwMDAwMDA=",
)

from configurator.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
INTEGRATIONS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
# Static files straight from the apps, as in development (no collectstatic before tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# On SQLite the test database is a file, so that worker processes started by tests see it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}  # noqa: F405

# The suite logs in and authenticates many times from 127.0.0.1: the brute-force limits stay on
# (their code runs everywhere) but far above what the suite does; tests/configurator/ lowers them.
AXES_FAILURE_LIMIT = 10_000
API_AUTH_FAILURE_RATE = "10000/minute"
