"""System Management > Configuration export and import: the export, an import with a preview."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from configurator.models import ConfigurationTransfer
from transfer.api import EXPORT_PERMISSION, IMPORT_PERMISSION
from transfer.document import ExportRefused, SecretsSerializer, config_export, document_text
from transfer.plan import mapping_of, mapping_problems, pairs
from transfer.services import DocumentRefused, ImportResult, config_import

# The largest document the page reads (the API's bound is Django's upload settings).
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


# Where the session keeps the previewed document (one per session, replaced by the next
# preview, dropped once applied or when the session ends).
PREVIEWED_KEY = "transfer_previewed_document"


def _keep_previewed(request: HttpRequest, document: Any) -> str:
    """Keep the previewed document for Apply; its SHA-256 is what the page carries."""
    digest = hashlib.sha256(
        json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    request.session[PREVIEWED_KEY] = {"digest": digest, "document": document}
    return digest


def _read_upload(upload: Any, what: Any) -> Any:
    if upload.size > MAX_DOCUMENT_BYTES:
        raise forms.ValidationError(
            _("The %(what)s is larger than %(mib)s MiB.")
            % {"what": what, "mib": MAX_DOCUMENT_BYTES // 1024 // 1024}
        )
    try:
        return json.loads(upload.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise forms.ValidationError(
            _("The %(what)s is not JSON: %(error)s") % {"what": what, "error": exc}
        ) from None


class ImportForm(forms.Form):
    """The document (uploaded, or carried from the preview), the mapping, the secrets."""

    document = forms.FileField(
        label=_("Configuration document"),
        required=False,
        help_text=_("A file written by Export (or manage.py config_export)."),
    )
    # The SHA-256 of the previewed document, kept in the session for Apply: a large landscape's
    # document would exceed DATA_UPLOAD_MAX_MEMORY_SIZE as a form field.
    carried = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    map_connection = forms.CharField(
        label=_("Map service connections"),
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "eu/old-project=us/new-project"}),
        required=False,
        help_text=_("One region/project OLD=NEW per line."),
    )
    map_app = forms.CharField(
        label=_("Map app IDs"),
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "OLDAPPID=NEWAPPID"}),
        required=False,
        help_text=_("One app ID OLD=NEW per line: service entries and queue addresses."),
    )
    secrets = forms.FileField(
        label=_("Secrets file"),
        required=False,
        help_text=_(
            'Optional JSON {"services"|"integrations": {name: {authentication ID: secret}}}; '
            "choose it again for Apply. Objects whose secrets are missing are imported disabled."
        ),
    )
    prune = forms.BooleanField(label=_("Delete what the document lacks"), required=False)

    def __init__(self, *args: Any, previewed: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.previewed = previewed if isinstance(previewed, dict) else {}

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("document"):
            cleaned["parsed"] = _read_upload(cleaned["document"], _("document"))
        elif cleaned.get("carried"):
            if self.previewed.get("digest") != cleaned["carried"]:
                raise forms.ValidationError(
                    _("Choose the document file again: the previewed one is no longer kept.")
                )
            cleaned["parsed"] = self.previewed["document"]
        else:
            self.add_error("document", _("Choose a configuration document."))
        try:
            cleaned["connections"] = pairs(
                (cleaned.get("map_connection") or "").splitlines(), _("Map service connections")
            )
            cleaned["apps"] = pairs((cleaned.get("map_app") or "").splitlines(), _("Map app IDs"))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        for name, problems in mapping_problems(cleaned["connections"], cleaned["apps"]).items():
            for message in problems:
                self.add_error(name, message)
        cleaned["secret_values"] = {}
        if cleaned.get("secrets"):
            checked = SecretsSerializer(data=_read_upload(cleaned["secrets"], _("secrets file")))
            if not checked.is_valid():
                self.add_error("secrets", json.dumps(checked.errors))
            else:
                cleaned["secret_values"] = checked.validated_data
        return cleaned


@admin.register(ConfigurationTransfer)
class ConfigurationTransferAdmin(admin.ModelAdmin[ConfigurationTransfer]):
    """Not a list: one page to export the configuration and to import one."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user: Any = request.user
        return bool(user.is_active and user.is_staff) and (
            user.has_perm(EXPORT_PERMISSION) or user.has_perm(IMPORT_PERMISSION)
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export/",
            self.admin_site.admin_view(self.export_view),
            name="configurator_configurationtransfer_export",
        )
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The document as a file to download."""
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        try:
            text = document_text(config_export())
        except ExportRefused as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("admin:configurator_configurationtransfer_changelist")
        response = HttpResponse(text, content_type="application/json; charset=utf-8")
        name = f"configuration-{timezone.now():%Y%m%d-%H%M%S}.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """Export link; import form, its plan (Preview), and the outcome (Apply)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        may_import = request.user.has_perm(IMPORT_PERMISSION)
        form = ImportForm()
        result: ImportResult | None = None
        refused: Any = None
        if request.method == "POST":
            if not may_import:
                raise PermissionDenied
            form = ImportForm(
                request.POST, request.FILES, previewed=request.session.get(PREVIEWED_KEY)
            )
            if form.is_valid():
                result, refused = self._import(request, form)
                if result is not None and result.applied:
                    request.session.pop(PREVIEWED_KEY, None)
                elif result is not None and not result.errors:
                    form = ImportForm(
                        initial={
                            "carried": _keep_previewed(request, form.cleaned_data["parsed"]),
                            "map_connection": form.cleaned_data.get("map_connection"),
                            "map_app": form.cleaned_data.get("map_app"),
                            "prune": form.cleaned_data.get("prune"),
                        }
                    )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Configuration export and import"),
            "opts": self.model._meta,
            "may_export": request.user.has_perm(EXPORT_PERMISSION),
            "may_import": may_import,
            "form": form,
            "result": result,
            "refused": json.dumps(refused, ensure_ascii=False) if refused else "",
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/transfer/transfer.html", context)

    def _import(self, request: HttpRequest, form: ImportForm) -> tuple[ImportResult | None, Any]:
        cleaned = form.cleaned_data
        try:
            result = config_import(
                document=cleaned["parsed"],
                mapping=mapping_of(cleaned["connections"], cleaned["apps"]),
                secrets=cleaned["secret_values"],
                prune=bool(cleaned.get("prune")),
                dry_run="apply" not in request.POST,
            )
        except DocumentRefused as exc:
            return None, exc.errors
        return result, None
