"""The admin site, branded and grouped the way contact-center administrators think of it."""

import json
from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.translation import gettext_lazy as _

from configurator import docs_pages, extensions

# Sections of the admin index: (section title, [(app_label, model object_name), ...]).
# Models not named here stay under their own app.
ADMIN_SECTIONS: list[tuple[Any, list[tuple[str, str]]]] = [
    (
        _("System Management"),
        [
            ("messaging", "MessagingService"),
            ("integrations", "Integration"),
            ("configurator", "ConfigurationTransfer"),
        ],
    ),
    (_("Queue Management"), [("queues", "Queue")]),
    (
        _("Conversations"),
        [
            ("conversations", "Contact"),
            ("conversations", "Agent"),
            ("messaging", "Callback"),
            ("integrations", "Delivery"),
            # Not on the index (reached from a contact's page), but named by the breadcrumbs.
            ("conversations", "ContactEvent"),
            ("conversations", "Message"),
        ],
    ),
    (
        _("Users and access"),
        [
            ("auth", "User"),
            ("auth", "Group"),
            ("configurator", "ApiToken"),
            ("configurator", "AuditEntry"),
            ("axes", "AccessAttempt"),
            ("axes", "AccessFailureLog"),
            ("axes", "AccessLog"),
        ],
    ),
]


def section_slug(title: Any) -> str:
    """The URL name of a section of ADMIN_SECTIONS ("queue-management")."""
    return str(title).lower().replace(" ", "-")


def section_of(app_label: str, object_name: str) -> Any | None:
    """The title of the ADMIN_SECTIONS section that holds the model, or None."""
    for title, keys in ADMIN_SECTIONS:
        if (app_label, object_name) in keys:
            return title
    return None


class LabelledAutocompleteJsonView(AutocompleteJsonView):
    """The admin's autocomplete search, labelling rows with the ModelAdmin's `autocomplete_label`
    where it has one (a queue with its channel type), else with `str()` as Django does; rows
    for which its `autocomplete_group` names a group come under that group's heading (agents
    who serve the conversation's queue, then the others)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        group = getattr(self.model_admin, "autocomplete_group", None)
        if group is None:
            return response
        names = [group(obj) for obj in self.page_rows]
        if None in names:
            return response
        answer = json.loads(response.content)
        groups: list[dict[str, Any]] = []
        for name, row in zip(names, answer["results"], strict=True):
            if not groups or groups[-1]["text"] != name:
                groups.append({"text": name, "children": []})
            groups[-1]["children"].append(row)
        return JsonResponse({**answer, "results": groups})

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        self.page_rows = list(context["object_list"])  # the objects of the rows answered
        return context

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
                    "app_label": section_slug(title),
                    "app_url": reverse("admin:section", args=[section_slug(title)]),
                    "has_module_perms": True,
                    "models": models,
                }
            )
        for app in apps:
            rest = [m for m in app["models"] if (app["app_label"], m["object_name"]) not in placed]
            if rest:
                sections.append({**app, "models": rest})
        return sections

    def get_urls(self) -> list[URLResolver | URLPattern]:
        return [
            path("section/<slug:slug>/", self.admin_view(self.section_view), name="section"),
            path("docs/<slug:name>/", self.admin_view(self.docs_view), name="docs"),
            *super().get_urls(),
        ]

    def docs_view(self, request: HttpRequest, name: str) -> HttpResponse:
        """A page of the project's documentation, read-only (configurator.docs_pages)."""
        page = docs_pages.page_path(name)
        if page is None:
            raise Http404(
                _(
                    "No documentation page of this name here "
                    "(an installed copy has none: see DOCS_BASE_URL)."
                )
            )
        text = page.read_text(encoding="utf-8")
        context = {
            **self.each_context(request),
            "title": docs_pages.page_title(text, name),
            "subtitle": None,
            "page": docs_pages.render(text),
            "pages": docs_pages.page_index(),
            "current": name,
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/docs_page.html", context)

    def section_view(self, request: HttpRequest, slug: str) -> HttpResponse:
        """One section of the index (its models, as far as the user may see them): where the
        section's name in the breadcrumbs and the sidebar leads."""
        sections = [s for s in self.get_app_list(request) if s["app_label"] == slug]
        if not sections:
            raise Http404(_("No such section."))
        return self._sections_page(request, sections, title=sections[0]["name"])

    def app_index(
        self, request: HttpRequest, app_label: str, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        """An app's page (/admin/messaging/) lists its models under the sections that hold
        them: which app a model is coded in is no concern of an administrator's."""
        sections = [
            {**s, "models": [m for m in s["models"] if m["model"]._meta.app_label == app_label]}
            for s in self.get_app_list(request)
        ]
        sections = [s for s in sections if s["models"]]
        if not sections:
            raise Http404(_("No such section."))
        title = ", ".join(str(s["name"]) for s in sections)
        return self._sections_page(request, sections, title=title)

    def _sections_page(
        self, request: HttpRequest, sections: list[dict[str, Any]], *, title: Any
    ) -> TemplateResponse:
        context = {
            **self.each_context(request),
            "title": title,
            "subtitle": None,
            "app_list": sections,
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/section_index.html", context)
