"""Export and import between landscapes: round trip, idempotence, mapping, secrets, prune."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from configurator import audit
from configurator.choices import AuditOperation
from configurator.models import AuditEntry
from conversations.models import Agent
from integrations.models import Integration
from messaging.models import MessagingService
from queues.models import Queue
from tests.factories import make_contact
from tests.sinch import WEBHOOK_SECRET, fixture_body, post_callback
from tests.transfer.landscape import (
    ACCESS_SECRET,
    EU_APP,
    EU_PROJECT,
    INTEGRATION_SECRET,
    KEY_ID,
    build_landscape,
    landscape_secrets,
    wipe,
    without_time,
)
from transfer.document import config_export
from transfer.plan import mapping_of
from transfer.services import DocumentRefused, config_import

pytestmark = pytest.mark.django_db


def test_round_trip_into_an_empty_database_gives_the_same_document() -> None:
    build_landscape()
    first = config_export()
    wipe()

    result = config_import(document=first, secrets=landscape_secrets())
    again = config_export()

    assert result.errors == [] and result.applied
    assert result.plan.summary()["create"] == 9
    assert json.dumps(without_time(again)) == json.dumps(without_time(first))
    assert Queue.objects.get(name="Sales").overflow_queue == Queue.objects.get(name="Spare")


def test_exported_document_holds_no_secret() -> None:
    build_landscape()

    text = json.dumps(config_export())

    for secret in (ACCESS_SECRET, WEBHOOK_SECRET, INTEGRATION_SECRET):
        assert secret not in text
    assert f"{KEY_ID}@{EU_APP}" in text


def test_a_second_import_of_the_same_document_changes_nothing() -> None:
    build_landscape()
    document = config_export()
    wipe()
    config_import(document=document, secrets=landscape_secrets())
    entries_before = AuditEntry.objects.count()

    again = config_import(document=document, secrets=landscape_secrets())

    assert {p.action for p in again.plan.objects} == {"unchanged"}
    assert not again.applied
    assert AuditEntry.objects.count() == entries_before


def test_import_of_the_landscape_itself_plans_nothing_but_unchanged() -> None:
    build_landscape()

    result = config_import(document=config_export())

    assert {p.action for p in result.plan.objects} == {"unchanged"}
    assert result.plan.secrets_missing() == []


@pytest.fixture
def queues_audited() -> Iterator[None]:
    """Queues recorded by the audit trail (part of the audit trail's own registrations)."""
    from auditlog.registry import auditlog

    registered_here = not auditlog.contains(Queue)
    if registered_here:
        audit.register(Queue)
    yield
    if registered_here:
        auditlog.unregister(Queue)


def test_update_lists_field_changes_and_is_recorded_as_an_import(queues_audited: None) -> None:
    build_landscape()
    document = config_export()
    sales = next(q for q in document["queues"] if q["name"] == "Sales")
    sales["default_priority"] = 7

    result = config_import(document=document)

    planned = next(p for p in result.plan.objects if p.name == "Sales")
    assert planned.action == "update"
    assert planned.changes == {"default_priority": {"from": 50, "to": 7}}
    assert Queue.objects.get(name="Sales").default_priority == 7
    entry = AuditEntry.objects.filter(operation=AuditOperation.IMPORT).latest("pk")
    assert entry.object_repr == "Sales"


def test_dry_run_plans_and_checks_but_writes_nothing() -> None:
    build_landscape()
    document = config_export()
    wipe()

    result = config_import(document=document, secrets=landscape_secrets(), dry_run=True)

    assert result.errors == [] and not result.applied
    assert result.plan.summary()["create"] == 9
    assert not MessagingService.objects.exists() and not Queue.objects.exists()


def test_mapping_moves_services_to_the_us_and_apps_to_their_us_ids() -> None:
    build_landscape()
    document = config_export()
    wipe()
    secrets = landscape_secrets()
    secrets["services"]["Sinch EU"] = {
        f"{KEY_ID}@US0000000000000000000000AA": "us-key",
        "second-key@US0000000000000000000000BB": "us-key-2",
        "webhook": WEBHOOK_SECRET,
    }

    result = config_import(
        document=document,
        secrets=secrets,
        mapping=mapping_of(
            {f"eu/{EU_PROJECT}": "us/us-project"},
            {
                EU_APP: "US0000000000000000000000AA",
                "01E4556565565ERKYP": "us0000000000000000000000bb",
            },
        ),
    )

    assert result.errors == []
    service = MessagingService.objects.get(name="Sinch EU")
    assert (service.region, service.project_id) == ("us", "us-project")
    assert service.enabled
    assert sorted(service.authentications.values_list("app_id", flat=True)) == [
        "",
        "US0000000000000000000000AA",
        "US0000000000000000000000BB",
    ]
    assert sorted(Queue.objects.get(name="Sales").addresses.values_list("address", flat=True)) == [
        "US0000000000000000000000AA@viber-bot.sinchconversation.com",
        "US0000000000000000000000AA@whatsapp.sinchconversation.com",
    ]
    assert MessagingService.objects.get(name="Sinch BR").region == "br"


def test_objects_without_their_secrets_are_imported_disabled_and_listed(client) -> None:
    build_landscape()
    document = config_export()
    wipe()

    result = config_import(document=document)

    assert result.errors == []
    eu = MessagingService.objects.get(name="Sinch EU")
    assert not eu.enabled
    assert not Integration.objects.get(name="CRM sync").enabled
    assert Integration.objects.get(name="Echo").enabled  # it has no secrets to miss
    assert (
        f"messaging service “Sinch EU”: enter the secret of {KEY_ID}@{EU_APP}, then enable it."
        in (result.plan.secrets_missing())
    )
    assert "integration “CRM sync”: enter the secret of basic:crm, then enable it." in (
        result.plan.secrets_missing()
    )
    # A disabled service refuses Sinch's callbacks.
    response = post_callback(client, eu.pk, fixture_body("MESSAGE_INBOUND"))
    assert response.status_code == 403


def test_secrets_given_later_complete_the_import_and_enable() -> None:
    build_landscape()
    document = config_export()
    wipe()
    config_import(document=document)

    result = config_import(document=document, secrets=landscape_secrets())

    planned = next(p for p in result.plan.objects if p.name == "Sinch EU")
    assert planned.action == "update"
    assert planned.changes["enabled"] == {"from": False, "to": True}
    assert sorted(planned.changes["secrets"]["to"]) == sorted(
        landscape_secrets()["services"]["Sinch EU"]
    )
    assert MessagingService.objects.get(name="Sinch EU").enabled
    assert Integration.objects.get(name="CRM sync").enabled


def test_nothing_is_deleted_without_prune() -> None:
    build_landscape()
    document = config_export()
    document["queues"] = [q for q in document["queues"] if q["name"] != "Support"]
    document["agents"] = []

    result = config_import(document=document)

    assert result.applied is False  # nothing differs
    assert Queue.objects.filter(name="Support").exists()
    assert Agent.objects.count() == 2


def test_prune_deletes_what_the_document_lacks_except_what_its_rules_keep() -> None:
    build_landscape()
    document = config_export()
    make_contact(Queue.objects.get(name="Support"))  # an open conversation keeps its queue
    document["queues"] = [q for q in document["queues"] if q["name"] not in {"Support", "Spare"}]
    sales = next(q for q in document["queues"] if q["name"] == "Sales")
    sales["max_waiting_time"] = sales["overflow_queue"] = None
    document["agents"] = [a for a in document["agents"] if a["name"] == "Ann"]
    document["agents"][0]["queues"] = ["Sales"]
    document["integrations"] = []

    result = config_import(document=document, prune=True)

    assert result.errors == []
    deleted = {(p.kind, p.name) for p in result.plan.objects if p.action == "delete"}
    assert deleted == {
        ("queues", "Spare"),
        ("queues", "Support"),
        ("agents", "Bob"),
        ("integrations", "CRM sync"),
        ("integrations", "Echo"),
    }
    assert not Queue.objects.filter(name="Spare").exists()
    assert Queue.objects.filter(name="Support").exists()
    assert result.not_deleted[0]["object"] == "queue “Support”"
    assert "open conversation" in result.not_deleted[0]["reason"]
    assert not Integration.objects.exists()
    assert list(Agent.objects.values_list("name", flat=True)) == ["Ann"]


def test_a_validation_error_rolls_everything_back_and_names_object_and_field() -> None:
    build_landscape()
    document = config_export()
    wipe()
    document["queues"][1]["addresses"].append("NOSUCHAPP@whatsapp")

    result = config_import(document=document, secrets=landscape_secrets())

    assert not result.applied
    assert result.errors == [
        {
            "object": f"queue “{document['queues'][1]['name']}”",
            "field": "addresses",
            "messages": [
                "NOSUCHAPP@whatsapp.sinchconversation.com: App NOSUCHAPP has no outbound "
                "authentication in any messaging service: add KEYID@NOSUCHAPP to a messaging "
                "service first."
            ],
        }
    ]
    assert not MessagingService.objects.exists()


def test_an_integration_error_names_its_json_path() -> None:
    build_landscape()
    document = config_export()
    document["integrations"][0]["configuration"] = {"request": {"method": "FETCH"}}

    result = config_import(document=document)

    assert result.errors[0]["object"] == "integration “CRM sync”"
    assert result.errors[0]["field"] == "configuration"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"format": "something-else"}, "format"), ({"version": 2}, "version")],
)
def test_a_wrong_format_or_version_is_refused_by_name(change: dict, field: str) -> None:
    document = {**config_export(), **change}

    with pytest.raises(DocumentRefused) as refused:
        config_import(document=document)

    assert field in refused.value.errors


def test_an_object_twice_in_the_document_is_refused() -> None:
    build_landscape()
    document = config_export()
    document["queues"].append(
        {**document["queues"][0], "name": document["queues"][0]["name"].upper()}
    )

    with pytest.raises(DocumentRefused) as refused:
        config_import(document=document)

    assert "queues" in refused.value.errors


def test_an_integration_imported_without_its_secret_cannot_be_enabled() -> None:
    from django.core.exceptions import ValidationError

    from integrations.services import integration_enable

    build_landscape()
    document = config_export()
    wipe()
    config_import(document=document)
    crm = Integration.objects.get(name="CRM sync")

    with pytest.raises(ValidationError, match="enter the secret of basic:crm on its page"):
        integration_enable(integration=crm)
