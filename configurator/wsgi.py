"""WSGI entry point for production servers (gunicorn configurator.wsgi).

Sinch's callbacks are answered by the lean entry in messaging.webhooks.entry; everything else
by Django.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "configurator.settings")

django_application = get_wsgi_application()

from messaging.webhooks.entry import with_webhook_entry  # noqa: E402 - needs Django set up

application = with_webhook_entry(django_application)
