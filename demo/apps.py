"""The demo app: demonstration and benchmark data, at the top of the house."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The one place that imports every app, to build demonstration and benchmark data.

    `manage.py seed_demo` writes rows straight into the tables of queues, conversations,
    messaging and integrations; no app imports this one, so the direction of the house
    (configurator ← queues ← conversations ← messaging, integrations) holds beneath it.
    """

    name = "demo"
    verbose_name = "Demo data"
