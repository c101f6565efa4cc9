"""The admin site, branded and grouped the way contact-center administrators think of it."""

from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from configurator import extensions

# Sections of the admin index: (section title, [(app_label, model object_name), ...]).
# Models not named here stay under their own app.
ADMIN_SECTIONS: list[tuple[Any, list[tuple[str, str]]]] = [
    (
        _("System Management"),
        [("messaging", "MessagingService"), ("integrations", "Integration")],
    ),
    (_("Queue Management"), [("queues", "Queue")]),
    (
        _("Conversations"),
        [
            ("conversations", "Contact"),
            ("conversations", "Agent"),
            ("messaging", "Callback"),
            ("integrations", "Delivery"),
        ],
    ),
    (
        _("Users and access"),
        [
            ("auth", "User"),
            ("auth", "Group"),
            ("configurator", "ApiToken"),
            ("axes", "AccessAttempt"),
            ("axes", "AccessFailureLog"),
            ("axes", "AccessLog"),
        ],
    ),
]


class LabelledAutocompleteJsonView(AutocompleteJsonView):
    """The admin's autocomplete search, labelling rows with the ModelAdmin's `autocomplete_label`
    where it has one (a queue with its channel type), else with `str()` as Django does."""

    def serialize_result(self, obj: Any, to_field_name: str) -> dict[str, Any]:
        result: dict[str, Any] = super().serialize_result(  # type: ignore[misc]  # not in the stubs
            obj, to_field_name
        )
        label = getattr(self.model_admin, "autocomplete_label", None)
        if label is not None:
            result["text"] = label(obj)
        return result


class ConfiguratorAdminSite(admin.AdminSite):
    """Admin site titled "System Configurator" with the sections of ADMIN_SECTIONS."""

    site_header = _("System Configurator")
    site_title = _("System Configurator")
    index_title = _("Home")
    # Django's index with the parts other apps add (`extensions.admin_index_blocks`) above the
    # sections, which move beside them.
    index_template = "admin/home.html"

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        response: Any = LabelledAutocompleteJsonView.as_view(admin_site=self)(request)
        return cast(HttpResponse, response)

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        """The home page: each registered part (what the user may see of it), then the sections."""
        blocks = [block(request) for block in extensions.admin_index_blocks]
        context = {"home_blocks": [block for block in blocks if block], **(extra_context or {})}
        return super().index(request, context)

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        models_by_key = {
            (app["app_label"], model["object_name"]): model
            for app in apps
            for model in app["models"]
        }
        sections: list[dict[str, Any]] = []
        placed: set[tuple[str, str]] = set()
        for title, keys in ADMIN_SECTIONS:
            models = [models_by_key[key] for key in keys if key in models_by_key]
            if not models:
                continue
            placed.update(key for key in keys if key in models_by_key)
            sections.append(
                {
                    "name": title,
                    "app_label": str(title).lower().replace(" ", "-"),
                    "app_url": models[0]["admin_url"],
                    "has_module_perms": True,
                    "models": models,
                }
            )
        for app in apps:
            rest = [m for m in app["models"] if (app["app_label"], m["object_name"]) not in placed]
            if rest:
                sections.append({**app, "models": rest})
        return sections
