"""Authentication blocks: entries that pair an ID with a write-only secret.

Messaging services (outbound KEYID@APPID keys, the webhook entry) and integrations (basic,
digest, oauth, header values) both keep such a block. What the two share is written here once:

- entering a secret: the admin's password box (`CredentialForm`) and the API's write-only
  field (`SecretWriteField`); neither ever shows a stored secret;
- the secret rule (`secret_problem`): an empty box or an omitted secret keeps the secret stored
  for the same key; a new entry, or an entry whose ID was changed, needs its secret, since the
  stored one belongs to the old ID;
- which stored entry a submitted one edits: the admin knows the row (`CredentialFormSet`), the
  API matches by key (`CredentialBlock.api_secret_states`);
- replacing the stored block by the submitted one, entry by entry (`entries_replace`).

Each app describes its entries with a `CredentialBlock` in its validation module (what keys an
entry) and keeps its own rules there (KEYID@APPID form, header names, ...).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from django import forms
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from configurator.changes import RowChanges
from configurator.secrets import SecretFormField

RowT = TypeVar("RowT", bound=models.Model)
# The identifying fields of an entry, as submitted (form or API) or stored (model row).
EntryValues = Mapping[str, Any]

MISSING_FOR_NEW_ENTRY = "Enter the secret: a new entry has none stored yet."
ADMIN_KEEP_HELP = _(
    "Write-only. Leave empty to keep the stored secret; a changed ID needs its secret."
)
API_KEEP_HELP = (
    "Write-only. Omit on update to keep the secret stored for the same ID; a new or changed "
    "ID needs its secret."
)


# --- The rule ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredEntry:
    """A stored entry as a submitted block sees it: its key, its ID, and if it has a secret."""

    key: str
    authentication_id: str
    has_secret: bool
    identity: str | None = None


@dataclass(frozen=True)
class SecretState:
    """What a submitted entry may keep when no secret is given with it.

    `has_stored_secret`: a secret is stored under this entry's own key, and is kept.
    `replaces`: the ID of the stored entry this one edits under a new ID (its secret is not
    carried over: it belongs to the old ID).
    """

    has_stored_secret: bool = False
    replaces: str | None = None


def secret_problem(
    secret: str | None,
    *,
    has_stored_secret: bool,
    replaces: str | None = None,
    id_label: str = "authentication ID",
    max_length: int,
) -> str | None:
    """What is wrong with an entry's secret, or None; `secret` None means the box was empty."""
    if secret is None:
        if has_stored_secret:
            return None
        if replaces is not None:
            return (
                f"Enter the secret for the new {id_label}: the stored secret belongs to "
                f"“{replaces}”."
            )
        return MISSING_FOR_NEW_ENTRY
    if len(secret) > max_length:
        return f"At most {max_length} characters."
    if secret != secret.strip():
        return "Remove the spaces before or after the secret."
    return None


def _no_identity(values: EntryValues) -> str | None:
    return None


@dataclass(frozen=True)
class CredentialBlock:
    """How one app's entries are told apart.

    `key`: what a secret belongs to (two entries with the same key are the same entry across an
    update). `identity`: optionally, what the API reads as "the same entry under a new ID"
    (an outbound key of the same app), only to word the error when its secret is missing.
    """

    id_fields: tuple[str, ...]
    key: Callable[[EntryValues], str]
    identity: Callable[[EntryValues], str | None] = _no_identity

    def stored(self, row: models.Model) -> StoredEntry:
        """A stored row as the rule sees it."""
        values = {name: getattr(row, name) for name in self.id_fields}
        return StoredEntry(
            key=self.key(values),
            authentication_id=str(getattr(row, "authentication_id", "")),
            has_secret=getattr(row, "secret", None) is not None,
            identity=self.identity(values),
        )

    def secret_state(self, values: EntryValues, edits: StoredEntry | None) -> SecretState:
        """What an entry submitted as `values`, editing `edits` (None: a new entry), keeps."""
        if edits is None:
            return SecretState()
        if edits.key == self.key(values):
            return SecretState(has_stored_secret=edits.has_secret)
        return SecretState(replaces=edits.authentication_id)

    def api_secret_states(
        self, given: Sequence[EntryValues], rows: Iterable[models.Model]
    ) -> list[SecretState]:
        """The states of entries given to the API, which names entries by their key only.

        An entry whose key is not stored is new, unless it and one stored entry left over are
        the only ones of their identity: then it is that entry under a new ID.
        """
        stored = [self.stored(row) for row in rows]
        by_key = {entry.key: entry for entry in stored}
        keys = [self.key(values) for values in given]
        left_over = [entry for entry in stored if entry.key not in set(keys)]
        new_identities = Counter(
            self.identity(values)
            for values, key in zip(given, keys, strict=True)
            if key not in by_key
        )
        states = []
        for values, key in zip(given, keys, strict=True):
            edits = by_key.get(key)
            identity = self.identity(values)
            if edits is None and identity is not None and new_identities[identity] == 1:
                same = [entry for entry in left_over if entry.identity == identity]
                edits = same[0] if len(same) == 1 else None
            states.append(self.secret_state(values, edits))
        return states


# --- Writing the block ---------------------------------------------------------------------


def entries_replace(
    *,
    block: CredentialBlock,
    stored: Iterable[RowT],
    entries: Sequence[Any],
    new_row: Callable[[], RowT],
    missing_secret_allowed: bool = False,
) -> RowChanges:
    """Make the stored entries exactly `entries` (cleaned dataclasses), matched by key.

    `missing_secret_allowed`: a new entry may come without its secret (a configuration import
    that was not given it; the owner stays disabled until it is entered).

    A stored entry whose key is not given is deleted, one whose key is given is updated (its
    secret only when a new one is given), and a given key that is not stored is created.
    Deletions come first, so that an app or a name can move to a new entry without tripping a
    unique constraint.
    """
    changes = RowChanges()
    existing = {block.key({n: getattr(row, n) for n in block.id_fields}): row for row in stored}
    pending: list[tuple[RowT, list[str]]] = []
    for entry in entries:
        values = {
            f.name: getattr(entry, f.name) for f in dataclasses.fields(entry) if f.name != "secret"
        }
        secret: str | None = entry.secret
        row = existing.pop(block.key(values), None)
        if row is None:
            if secret is None and not missing_secret_allowed:
                raise ValueError("a new authentication entry needs its secret")
            row = new_row()
        updated = [name for name, value in values.items() if getattr(row, name) != value]
        for name in updated:
            setattr(row, name, values[name])
        if secret is not None:
            row.secret = secret  # type: ignore[attr-defined]
            updated.append("secret")
        pending.append((row, updated))
    for row in existing.values():
        row.delete()
        changes.deleted.append(row)
    for row, updated in pending:
        if row.pk is None:
            row.save()
            changes.created.append(row)
        elif updated:
            row.save(update_fields=updated)
            changes.changed.append((row, updated))
    return changes


# --- Entering it: the admin ----------------------------------------------------------------


class CredentialForm(forms.ModelForm):  # type: ignore[type-arg]
    """One entry of an authentication block; the secret box never shows the stored secret."""

    credential_block: ClassVar[CredentialBlock]
    secret = SecretFormField(
        required=False, label=_("Secret / password"), help_text=ADMIN_KEEP_HELP
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Taken now: validating the form copies the submitted ID onto the instance.
        self.stored_entry = (
            self.credential_block.stored(self.instance) if self.instance.pk else None
        )
        self.new_secret: str | None = None

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        self.new_secret = cleaned.get("secret") or None
        if self.new_secret is None and self.instance.pk:
            # The form copies its values onto the row: an empty box must not blank it.
            cleaned["secret"] = self.instance.secret
        return cleaned

    def secret_state(self) -> SecretState:
        """What this row keeps without a new secret (judged on the row as it was stored)."""
        return self.credential_block.secret_state(self.cleaned_data, self.stored_entry)


class CredentialFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """The inline block of entries; the app's formset checks the rows it keeps with its rules."""

    def forms_in_use(self) -> list[CredentialForm]:
        """The rows the submission keeps: filled in or stored, and not marked deleted."""
        return [
            form
            for form in self.forms
            if form.has_changed() or getattr(form.instance, "pk", None)
            if not (self.can_delete and self._should_delete_form(form))  # type: ignore[attr-defined]
            if hasattr(form, "cleaned_data")
        ]

    def show_errors(
        self,
        forms_in_use: Sequence[forms.BaseForm],
        errors: Mapping[int, Mapping[str, Sequence[str]]],
    ) -> None:
        """Put each entry's errors on its row and field."""
        for index, fields in errors.items():
            for field_name, problems in fields.items():
                form = forms_in_use[index]
                for problem in problems:
                    form.add_error(field_name if field_name in form.fields else None, problem)


# --- Entering it: the API ------------------------------------------------------------------


class SecretWriteField(serializers.CharField):
    """A secret in an API body: accepted, never returned; omitted on update keeps the stored one."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("write_only", True)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("style", {"input_type": "password"})
        kwargs.setdefault("help_text", API_KEEP_HELP)
        super().__init__(**kwargs)


class CredentialListSerializer(serializers.ListSerializer[Any]):
    """A block's errors as one list aligned with the entries, wherever they are found.

    DRF reports an entry's own field errors keyed by index; the block's rules report a list
    (`nested_errors`): one shape for clients, whichever check refused an entry.
    """

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail
            if (
                isinstance(data, list)
                and isinstance(detail, dict)
                and detail
                and all(str(key).isdigit() for key in detail)
            ):
                by_index = {int(key): value for key, value in detail.items()}
                raise serializers.ValidationError(nested_errors(by_index, len(data))) from None
            raise


class CredentialEntrySerializer(serializers.Serializer[Any]):
    """One entry of a block in the API: its secret write-only, whether one is stored shown.

    The block is written as a whole, so even in a PATCH each given entry is complete: a missing
    field is named on its entry (DRF's partial update would otherwise skip it).
    """

    secret = SecretWriteField()
    has_secret = serializers.SerializerMethodField()

    class Meta:
        list_serializer_class = CredentialListSerializer

    def get_has_secret(self, obj: Any) -> bool:
        return getattr(obj, "secret", None) is not None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        missing = {
            name: [str(field.error_messages["required"])]
            for name, field in self.fields.items()
            if field.required and not field.read_only and name not in attrs
        }
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


def nested_errors(errors: Mapping[int, Any], count: int) -> list[Any]:
    """The nested shape: one error object per given entry, empty where it is fine."""
    return [errors.get(index, {}) for index in range(count)]
