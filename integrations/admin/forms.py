"""The forms of the integration admin pages: the integration, its authentication block, test
run and resend; every rule is checked by `integrations.validation`, as the API does."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from configurator.credentials import CredentialForm, CredentialFormSet
from conversations.choices import Event
from conversations.models import Contact
from conversations.selectors import contact_detail
from integrations import selectors
from integrations.models import Integration, IntegrationAuthentication
from integrations.set_keys import SET_KEYS
from integrations.testrun import sample_kind, sample_kind_label, sample_kinds
from integrations.validation import (
    AUTHENTICATION_BLOCK,
    AuthenticationInput,
    AuthenticationsResult,
    IntegrationInput,
    clean_authentications,
    clean_integration,
)
from queues.choices import CALLS_CONFIGURATION_ONLY
from queues.models import Queue

AUTHENTICATIONS_PREFIX = "authentications"


class ConfigurationField(forms.JSONField):
    """The JSON editor: keeps the administrator's text as typed, pretty-prints what is stored."""

    def to_python(self, value: Any) -> Any:
        if self.disabled or value in self.empty_values:
            return super().to_python(value)
        try:
            return json.loads(value)
        except RecursionError:
            raise ValidationError(_("Not valid JSON: nested too deeply."), code="invalid") from None
        except json.JSONDecodeError as exc:
            raise ValidationError(
                _("Not valid JSON: line %(line)s, column %(column)s: %(problem)s.")
                % {"line": exc.lineno, "column": exc.colno, "problem": exc.msg},
                code="invalid",
            ) from None

    def bound_data(self, data: Any, initial: Any) -> Any:
        if self.disabled or data is None:
            return super().bound_data(data, initial)
        return InvalidJSONInput(data)  # shown back exactly as typed

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, InvalidJSONInput):
            return value
        if value is None:
            return ""  # a new integration starts empty (or from a preset)
        return json.dumps(value, indent=2, ensure_ascii=False)


class QueueChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    """Queues labelled with their channel type."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.get_channel_type_display()})"


class IntegrationForm(forms.ModelForm[Integration]):
    """An integration; every rule is checked by `validation.clean_integration`."""

    events = forms.MultipleChoiceField(
        label=_("Conversation events that trigger this integration"),
        choices=Event.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=format_lazy(
            "{} {}",
            _(
                "Saving with no event selected disables the integration. Choosing events does "
                "not enable it: Enable does."
            ),
            CALLS_CONFIGURATION_ONLY,
        ),
    )
    # Chosen by searching: a contact center has thousands of queues. The search labels each
    # with its channel type; a queue of another type is refused with the reason on save.
    queues = QueueChoiceField(
        label=_("Queues"),
        queryset=Queue.objects.order_by("name"),
        required=False,
        widget=AutocompleteSelectMultiple(Integration._meta.get_field("queues"), admin.site),
        help_text=_(
            "Chats: the queues messages arrive to or are sent from (inbound and outbound). "
            "Calls: inbound queue calls (configuration only: no call comes from the "
            "Conversation API)."
        ),
    )
    configuration = ConfigurationField(
        label=_("JSON for configuration"),
        # An empty box gets the same sentence as the API from clean_integration.
        required=False,
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "class": "mono json-editor"}),
        help_text=format_lazy(
            _(
                'request: method (required), authentication {{"type": "basic"|"digest"|"oauth"}}, '
                "headers, params, body (POST/PUT/PATCH), timeout (s, default 10), condition "
                "(CEL), block. response: set ({keys}), save. "
                "Placeholders such as {{event}}, {{contact.id}}, {{authentications.api-key}}."
            ),
            keys=", ".join(SET_KEYS),
        ),
    )

    class Meta:
        model = Integration
        fields = [
            "channel_type",
            "name",
            "description",
            "endpoint_url",
            "ordinal",
            "direction",
            "events",
            "direct_chats",
            "direct_calls",
            "queues",
            "configuration",
        ]
        widgets = {
            "endpoint_url": forms.TextInput(attrs={"class": "vLargeTextField mono", "size": 90}),
            "description": forms.Textarea(attrs={"rows": 2, "cols": 80}),
        }

    notices: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notices = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if any(name in self.errors for name in ("channel_type", "direction", "configuration")):
            return cleaned
        check = clean_integration(
            IntegrationInput.of(
                cleaned.get,
                queues=cleaned.get("queues") or [],
                authentication_ids=self._authentication_ids(),
            ),
            references=selectors.DatabaseReferences(),
        )
        for name, problems in check.errors.items():
            for problem in problems:
                self.add_error(name if name in self.fields else None, problem)
        self.notices = check.notices
        return cleaned

    def _authentication_ids(self) -> list[str]:
        """The IDs of the authentication rows being submitted with this form."""
        data = self.data
        prefix = AUTHENTICATIONS_PREFIX
        try:
            total = min(int(data.get(f"{prefix}-TOTAL_FORMS") or 0), 1000)
        except ValueError:
            total = 0
        ids = []
        for index in range(total):
            if data.get(f"{prefix}-{index}-DELETE"):
                continue
            value = (data.get(f"{prefix}-{index}-authentication_id") or "").strip()
            if value:
                ids.append(value)
        return ids


class AuthenticationForm(CredentialForm):
    """One authentication entry (the shared secret box)."""

    credential_block = AUTHENTICATION_BLOCK

    class Meta:
        model = IntegrationAuthentication
        fields = ["authentication_id", "secret"]
        widgets = {"authentication_id": forms.TextInput(attrs={"class": "mono", "size": 40})}


class AuthenticationFormSet(CredentialFormSet):
    """Checks the authentication block with the rules the API uses too."""

    result: AuthenticationsResult | None = None

    def clean(self) -> None:
        super().clean()
        forms_in_use = self.forms_in_use()
        if any(f.errors for f in forms_in_use):
            return
        inputs = []
        for form in forms_in_use:
            state = form.secret_state()
            inputs.append(
                AuthenticationInput(
                    authentication_id=form.cleaned_data.get("authentication_id", ""),
                    secret=form.new_secret,
                    has_stored_secret=state.has_stored_secret,
                    replaces=state.replaces,
                )
            )
        self.result = clean_authentications(inputs)
        self.show_errors(forms_in_use, self.result.errors)


class TestRunForm(forms.Form):
    """What to test: an event, an existing contact or a sample one, dry or live."""

    event = forms.ChoiceField(label=_("Event"), choices=Event.choices)
    contact = forms.CharField(
        label=_("Contact ID"),
        required=False,
        max_length=32,
        help_text=_("Leave empty to use a sample contact, of the kind chosen below."),
    )
    sample = forms.ChoiceField(
        label=_("Sample contact"),
        required=False,
        widget=forms.RadioSelect,
        help_text=_(
            "A made-up conversation in the integration's first queue of its channel type "
            "(direct without one). Chats out have the events Accepted, Transferred, Ended and "
            "Abandoned. Calls never come from the Conversation API: a phone sample is how a "
            "call integration is tried."
        ),
    )
    live = forms.BooleanField(
        label=_("Live: send the request"),
        required=False,
        help_text=_(
            "Unticked, the request is only rendered. Either way no contact changes and no "
            "delivery is recorded."
        ),
    )

    def __init__(self, *args: Any, integration: Integration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.integration = integration
        if integration.events:
            self.fields["event"].initial = integration.events[0]
        sample = self.fields["sample"]
        if isinstance(sample, forms.ChoiceField):
            sample.choices = [
                (_sample_value(kind), sample_kind_label(kind)) for kind in sample_kinds(integration)
            ]
            sample.initial = _sample_value(sample_kind(integration))

    def clean_sample(self) -> tuple[str, str]:
        """The (channel type, direction) of the sample; the default one when none is chosen."""
        channel_type, _sep, direction = (self.cleaned_data.get("sample") or "").partition("/")
        try:
            return sample_kind(self.integration, channel_type=channel_type, direction=direction)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None

    def clean_contact(self) -> Contact | None:
        value = (self.cleaned_data.get("contact") or "").strip().upper()
        if not value:
            return None
        found = contact_detail().filter(pk=value).first()
        if found is None:
            raise ValidationError(_("No contact has the ID “%(id)s”.") % {"id": value})
        return found


def _sample_value(kind: tuple[str, str]) -> str:
    return "/".join(kind)


class ResendForm(forms.Form):
    """Since when failed deliveries are sent again."""

    since = forms.DateTimeField(
        label=_("Failed since"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        initial=lambda: timezone.localtime().replace(second=0, microsecond=0) - timedelta(hours=24),
    )
