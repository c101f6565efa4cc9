"""App configs of the project package: the branded admin site and the shared mechanisms."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConfiguratorAdminConfig(admin_apps.AdminConfig):
    """Installs the System Configurator admin site as the default site."""

    default = False
    default_site = "configurator.admin_site.ConfiguratorAdminSite"


class ConfiguratorConfig(AppConfig):
    """Shared mechanisms: encrypted secrets, API permissions, the run command."""

    name = "configurator"
    verbose_name = "Configurator"
