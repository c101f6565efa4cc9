"""The audit trail in the admin: its list, an entry's page with the diff, and objects' History.

The list is a large table's (`LargeTableAdminMixin`: no full count, sorted and filtered only
by indexed columns); the History page of every audited model shows that object's entries in
place of Django's own log of admin form saves (`AuditHistoryMixin`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from configurator import audit
from configurator.admin_mixins import BoundedLookupsMixin, LargeTableAdminMixin, pretty_json
from configurator.audit import SECRET_MASK, object_key
from configurator.audit_selectors import LARGEST_ID, audit_entries_visible
from configurator.choices import AuditOperation
from configurator.models import AuditEntry

# The History page shows this many of an object's latest entries, then links to the list.
HISTORY_SHOWN = 50


@dataclass(frozen=True)
class DiffRow:
    """One line of an entry's diff: the field, what it was, what it became."""

    field: str
    old: str
    new: str


def diff_rows(entry: AuditEntry) -> list[DiffRow]:
    """An entry's changes as lines; a secret reads "changed", a many-to-many its additions."""
    model = entry.content_type.model_class() if entry.content_type_id else None
    rows = []
    for name, change in (entry.changes if isinstance(entry.changes, dict) else {}).items():
        label = _field_label(model, name)
        if isinstance(change, dict) and change.get("type") == "m2m":
            objects = ", ".join(str(item) for item in change.get("objects") or [])
            if change.get("operation") == "add":
                rows.append(
                    DiffRow(label, "", gettext("added: %(objects)s") % {"objects": objects})
                )
            else:
                rows.append(
                    DiffRow(label, gettext("removed: %(objects)s") % {"objects": objects}, "")
                )
            continue
        old, new = [*change, None, None][:2] if isinstance(change, list) else (None, change)
        if SECRET_MASK in (old, new):
            rows.append(DiffRow(label, "", gettext("changed")))
            continue
        rows.append(DiffRow(label, _shown(old), _shown(new)))
    return rows


def diff_table(entry: AuditEntry) -> SafeString:
    """The diff as an HTML table (escaped), for an entry's page and the History page."""
    rows = diff_rows(entry)
    if not rows:
        return SafeString()
    body = format_html_join(
        "", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", ((r.field, r.old, r.new) for r in rows)
    )
    return format_html(
        '<table class="audit-diff"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        gettext("Field"),
        gettext("Before"),
        gettext("After"),
        body,
    )


def _field_label(model: Any, name: str) -> str:
    try:
        return str(capfirst(model._meta.get_field(name).verbose_name)) if model else name
    except (FieldDoesNotExist, AttributeError):
        return name


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else str(value)


def operation_label(entry: AuditEntry) -> str:
    """What was done, in the admin's words ("Test run live"); an unknown word as it is."""
    try:
        return str(capfirst(AuditOperation(entry.operation).label))
    except ValueError:
        return entry.operation


def object_link(entry: AuditEntry) -> SafeString | str:
    """The entry's object, linked to its admin page while it exists and has one."""
    model = entry.content_type.model_class() if entry.content_type_id else None
    if model is None or entry.action == AuditEntry.Action.DELETE:
        return str(entry.object_repr)
    try:
        url = reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
            args=[entry.object_pk],
        )
    except NoReverseMatch:
        return str(entry.object_repr)
    return format_html('<a href="{}">{}</a>', url, entry.object_repr)


class OperationFilter(admin.SimpleListFilter):
    """By action, from the fixed list of words (a DISTINCT over the table would read it all)."""

    title = _("action")
    parameter_name = "operation"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(value, capfirst(label)) for value, label in AuditOperation.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(operation=value) if value else queryset


def _titled(base: type[admin.FieldListFilter], title: Any) -> type[admin.FieldListFilter]:
    """A field's filter under the word the audit trail uses for it (user, object type…)."""

    class Titled(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.title = title

    return Titled


class ObjectTypeFilter(admin.SimpleListFilter):
    """By object type, among the models the trail records (not every table of the project)."""

    title = _("object type")
    parameter_name = "content_type__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        types = ContentType.objects.get_for_models(*audit.audited_models())
        return sorted(
            ((str(t.pk), capfirst(model._meta.verbose_name)) for model, t in types.items()),
            key=lambda choice: str(choice[1]),
        )

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit() or int(value) > LARGEST_ID:
            raise IncorrectLookupParameters(value)
        return queryset.filter(content_type_id=int(value))


class AuditEntryAdmin(LargeTableAdminMixin, BoundedLookupsMixin, admin.ModelAdmin[AuditEntry]):
    """The audit trail: who changed what, when, through what; read-only."""

    list_display = ["timestamp", "who", "via", "operation_shown", "object_type", "object_shown"]
    ordering = ("-timestamp", "-id")
    grows_with_traffic = True
    # Users and object types are small tables; action and channel fixed lists; the time ranges
    # and each of these are served by the audit_* indexes.
    list_filter = [
        ("actor", _titled(admin.RelatedFieldListFilter, _("user"))),
        ObjectTypeFilter,
        OperationFilter,
        ("via", _titled(admin.ChoicesFieldListFilter, _("channel"))),
        ("timestamp", _titled(admin.DateFieldListFilter, _("date"))),
    ]
    # The History pages' "all entries" link (`?content_type__id__exact=&object_pk=`).
    extra_lookups = ("object_pk",)
    search_fields = ["object_pk__exact"]
    search_help_text = _("The exact ID of an object.")
    list_select_related = ["actor", "content_type"]
    list_defer = ("changes", "changes_text", "serialized_data", "additional_data")
    fields = readonly_fields = (
        "timestamp",
        "who",
        "via",
        "operation_shown",
        "object_type",
        "object_shown",
        "object_pk",
        "remote_addr",
        "diff",
        "detail",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        return audit_entries_visible(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # entries leave by retention only (AUDIT_RETENTION_DAYS)

    @admin.display(description=_("user"))
    def who(self, obj: AuditEntry) -> str:
        """The user's name as it was, also once the account is deleted; blank for a command."""
        return obj.actor_username or "—"

    @admin.display(description=_("action"), ordering="operation")
    def operation_shown(self, obj: AuditEntry) -> str:
        return operation_label(obj)

    @admin.display(description=_("object type"))
    def object_type(self, obj: AuditEntry) -> str:
        return str(capfirst(obj.content_type.name)) if obj.content_type_id else ""

    @admin.display(description=_("object"))
    def object_shown(self, obj: AuditEntry) -> SafeString | str:
        return object_link(obj)

    @admin.display(description=_("changes"))
    def diff(self, obj: AuditEntry) -> SafeString:
        return diff_table(obj) or SafeString(gettext("No field changed."))

    @admin.display(description=_("detail"))
    def detail(self, obj: AuditEntry) -> SafeString | str:
        return pretty_json(obj.additional_data) if obj.additional_data else "—"


class AuditHistoryMixin:
    """An audited model's History page shows its audit entries (Django's shows form saves)."""

    # Rows whose entries are part of an object's history although filed under their own type
    # (a service's authentication entries: a secret rotation is recorded on the entry it changed).
    history_parts: tuple[str, ...] = ()

    def history_of(self, obj: Any) -> Q:
        """The entries of `history_parts`' rows (reverse relations of `obj`), besides its own."""
        found = Q(pk__in=[])
        for relation in self.history_parts:
            rows = getattr(obj, relation).all()
            model = rows.model
            keys = [str(pk) for pk in rows.values_list("pk", flat=True)]
            if keys:
                found |= Q(
                    content_type=ContentType.objects.get_for_model(model), object_pk__in=keys
                )
        return found

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        model_admin: Any = self
        obj = model_admin.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(gettext("No object with this ID."))
        if not model_admin.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        content_type = ContentType.objects.get_for_model(obj)
        key = object_key(obj) or str(obj.pk)
        entries = list(
            audit_entries_visible(request.user)
            .filter(self.history_of(obj) | Q(content_type=content_type, object_pk=key))
            .select_related("content_type")[:HISTORY_SHOWN]
        )
        everything = "{}?{}".format(
            reverse("admin:configurator_auditentry_changelist"),
            urlencode({"content_type__id__exact": str(content_type.pk), "object_pk": key}),
        )
        context = {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "object": obj,
            "title": gettext("History: %s") % obj,
            "subtitle": None,
            "module_name": str(capfirst(model_admin.opts.verbose_name_plural)),
            "entries": [(entry, operation_label(entry), diff_table(entry)) for entry in entries],
            "more": len(entries) == HISTORY_SHOWN,
            "everything": everything,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/audit_history.html", context)
