"""What a review of export and import found: each finding's case, refused or imported right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from conversations.models import Agent
from integrations.models import Integration
from messaging.models import MessagingService
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_integration, make_queue
from tests.transfer.landscape import (
    EU_APP,
    EU_APP_2,
    build_landscape,
    landscape_secrets,
    wipe,
    without_time,
)
from transfer.document import ExportRefused, config_export
from transfer.plan import mapping_of
from transfer.services import DocumentRefused, config_import

pytestmark = pytest.mark.django_db


def test_an_unknown_integration_channel_type_is_refused_by_field() -> None:
    build_landscape()
    document = config_export()
    document["integrations"][0]["channel_type"] = "pigeon"

    with pytest.raises(DocumentRefused) as refused:
        config_import(document=document)

    assert "channel_type" in refused.value.errors["integrations"][0]


def _steering(**set_values: Any) -> dict[str, Any]:
    return {"request": {"method": "POST"}, "response": {"set": set_values}}


def test_export_names_queues_by_address_and_agents_by_number_and_import_resolves_them() -> None:
    build_landscape()
    sales = Queue.objects.get(name="Sales")
    ann = Agent.objects.get(name="Ann")
    make_integration(
        "Router",
        queues=[sales],
        events=["received"],
        configuration=_steering(
            queue={"id": str(sales.pk)},
            preferredAgent=str(ann.pk),
            requiredAgents={"agents": [ann.pk], "timeout": 30},
        ),
    )
    first_address = sorted(a.address for a in sales.addresses.all())[0]
    document = config_export()
    wipe()
    make_queue("Elsewhere", ["01OTHERAPP@whatsapp"])  # takes the IDs the export had
    make_agent("Zed", number="")

    result = config_import(document=document, secrets=landscape_secrets())

    assert result.errors == []
    steering = Integration.objects.get(name="Router").configuration["response"]["set"]
    assert steering == {
        "queue": {"address": first_address},
        "preferredAgent": "1001",
        "requiredAgents": {"agents": ["1001"], "timeout": 30},
    }
    assert "id" not in steering["queue"]


def test_export_names_required_agents_given_as_text_by_number() -> None:
    build_landscape()
    ann = Agent.objects.get(name="Ann")
    make_integration(
        "Router",
        events=["received"],
        configuration=_steering(requiredAgents={"agents": f"{ann.pk}, ann@example.com"}),
    )

    router = next(i for i in config_export()["integrations"] if i["name"] == "Router")

    assert router["configuration"]["response"]["set"]["requiredAgents"] == {
        "agents": "1001,ann@example.com"
    }


def test_export_refuses_an_agent_named_by_id_that_has_no_other_name() -> None:
    build_landscape()
    bob = Agent.objects.get(name="Bob")
    make_integration(
        "Router", events=["received"], configuration=_steering(preferredAgent=str(bob.pk))
    )

    with pytest.raises(ExportRefused, match="Router"):
        config_export()


def test_map_app_rewrites_the_app_of_a_set_queue_address() -> None:
    build_landscape()
    make_integration(
        "Router",
        events=["received"],
        configuration=_steering(queue={"address": f"{EU_APP}@whatsapp"}),
    )
    document = config_export()
    wipe()
    us_app = "US0000000000000000000000AA"

    result = config_import(
        document=document,
        mapping=mapping_of({}, {EU_APP: us_app, EU_APP_2: "US0000000000000000000000BB"}),
    )

    assert result.errors == []
    steering = Integration.objects.get(name="Router").configuration["response"]["set"]
    assert steering["queue"]["address"].startswith(f"{us_app}@")


def test_an_unchanged_integration_whose_queue_address_goes_away_is_reported() -> None:
    build_landscape()
    make_integration(
        "Router",
        events=["received"],
        configuration=_steering(queue={"address": f"{EU_APP}@viber-bot"}),
    )
    document = config_export()
    sales = next(q for q in document["queues"] if q["name"] == "Sales")
    sales["addresses"] = [a for a in sales["addresses"] if "viber" not in a.lower()]

    result = config_import(document=document)

    router = next(p for p in result.plan.objects if p.name == "Router")
    assert router.action == "unchanged"
    assert [e["object"] for e in result.errors] == ["integration “Router”"]
    assert not result.applied


def test_agents_with_the_same_name_and_no_number_round_trip() -> None:
    build_landscape()
    support = Queue.objects.get(name="Support")
    make_agent("Bob", queues=[], number="")
    make_agent("bob", queues=[support], number="", email="bob@example.com")
    document = config_export()

    assert {p.action for p in config_import(document=document).plan.objects} == {"unchanged"}
    wipe()
    result = config_import(document=document, secrets=landscape_secrets())

    assert result.errors == []
    assert Agent.objects.filter(name__iexact="bob").count() == 3
    assert without_time(config_export()) == without_time(document)


def test_names_differing_only_beyond_the_database_case_rule_round_trip() -> None:
    build_landscape()
    make_queue("Straße", [f"{EU_APP}@telegram"])
    make_queue("STRASSE", [f"{EU_APP}@instagram"])
    document = config_export()
    wipe()

    result = config_import(document=document, secrets=landscape_secrets())

    assert result.errors == []
    assert set(
        Queue.objects.filter(name__in=["Straße", "STRASSE"]).values_list("name", flat=True)
    ) == {
        "Straße",
        "STRASSE",
    }
    assert without_time(config_export()) == without_time(document)


def test_prune_keeps_a_service_whose_apps_address_kept_queues_or_open_conversations() -> None:
    build_landscape()
    br_app = "01BRAPP000000000000000000A"
    brazil = make_queue("Brazil", [f"{br_app}@whatsapp"])
    make_contact(brazil)
    document = config_export()
    document["services"] = []
    document["queues"] = [q for q in document["queues"] if q["name"] != "Brazil"]

    result = config_import(document=document, prune=True)

    assert result.errors == []
    kept = {entry["object"]: entry["reason"] for entry in result.not_deleted}
    assert "queue(s) “Sales”" in kept["messaging service “Sinch EU”"]
    assert "open conversation" in kept["messaging service “Sinch BR”"]
    assert MessagingService.objects.count() == 2
    assert Queue.objects.filter(name="Brazil").exists()  # its open conversation keeps it too


def test_an_address_moves_from_one_queue_to_another_whatever_the_order() -> None:
    build_landscape()
    document = config_export()
    queues = {q["name"]: q for q in document["queues"]}
    moving = queues["Spare"]["addresses"][0]
    queues["Sales"]["addresses"].append(moving)
    queues["Spare"]["addresses"] = [f"{EU_APP}@telegram"]

    result = config_import(document=document)

    assert result.errors == []
    assert Queue.objects.get(addresses__address=moving).name == "Sales"


def test_an_app_moves_from_one_service_to_another_whatever_the_order() -> None:
    build_landscape()
    document = config_export()
    services = {s["name"]: s for s in document["services"]}
    moving = next(
        e
        for e in services["Sinch EU"]["authentications"]
        if e["authentication_id"].endswith(EU_APP_2)
    )
    services["Sinch EU"]["authentications"].remove(moving)
    services["Sinch BR"]["authentications"].append(moving)
    # "Sinch BR" sorts before "Sinch EU": it is applied first.

    result = config_import(document=document)

    assert result.errors == []
    assert MessagingService.objects.get(authentications__app_id=EU_APP_2).name == "Sinch BR"


def test_a_service_type_change_goes_through_the_service_validation() -> None:
    build_landscape()
    document = config_export()
    document["services"][0]["type"] = "carrier-pigeon"

    result = config_import(document=document)

    assert not result.applied
    assert result.errors[0]["object"] == f"messaging service “{document['services'][0]['name']}”"
    assert result.errors[0]["field"] == "type"


def test_the_result_is_checked_with_the_save_warnings_of_the_admin_and_the_api() -> None:
    build_landscape()
    document = config_export()
    queues = {q["name"]: q for q in document["queues"]}
    queues["Spare"]["overflow_queue"] = "Sales"
    queues["Spare"]["max_waiting_time"] = 60
    services = {s["name"]: s for s in document["services"]}
    services["Sinch EU"]["authentications"] = [
        e
        for e in services["Sinch EU"]["authentications"]
        if not e["authentication_id"].endswith(EU_APP_2)
    ]

    result = config_import(document=document, dry_run=True)

    assert result.errors == []
    text = " ".join(result.warnings)
    assert "circle" in text and "Spare → Sales → Spare" in text
    assert f"app {EU_APP_2} is in no messaging service" in text
    assert result.as_json()["warnings"] == result.warnings


def test_the_command_prints_the_warnings(tmp_path: Path, capsys: Any) -> None:
    build_landscape()
    document = config_export()
    spare = next(q for q in document["queues"] if q["name"] == "Spare")
    spare.update(overflow_queue="Sales", max_waiting_time=60)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(document))

    call_command("config_import", str(path), "--dry-run")

    assert "Warning: queue “Spare”: Overflow goes round in a circle" in capsys.readouterr().out


def test_secrets_for_objects_or_entries_the_document_lacks_are_reported() -> None:
    build_landscape()
    document = config_export()
    secrets = {
        "services": {"Sinch Nowhere": {"webhook": "w"}},
        "integrations": {"CRM sync": {"basic:someone-else": "s"}},
    }

    result = config_import(document=document, secrets=secrets, dry_run=True)

    unused = " ".join(result.plan.secrets_unused())
    assert "messaging service “Sinch Nowhere”" in unused
    assert "basic:someone-else" in unused and "integration “CRM sync”" in unused
    assert result.as_json()["secrets_unused"] == result.plan.secrets_unused()
    assert "s" not in result.as_json()["secrets_unused"][0].split()


def test_a_name_taken_meanwhile_is_refused_naming_the_object() -> None:
    from django.db.models.signals import pre_save

    build_landscape()
    document = config_export()
    document["queues"].append({**document["queues"][0], "name": "Extra", "addresses": []})
    document["queues"][-1]["addresses"] = [f"{EU_APP}@telegram"]

    def take_the_name(sender: Any, instance: Queue, **kwargs: Any) -> None:
        if instance.pk is None and instance.name == "Extra":
            Queue.objects.bulk_create([Queue(name="EXTRA")])  # another save, a moment earlier

    pre_save.connect(take_the_name, sender=Queue)
    try:
        result = config_import(document=document)
    finally:
        pre_save.disconnect(take_the_name, sender=Queue)

    assert result.errors[0]["object"] == "queue “Extra”"
    assert result.errors[0]["field"] == "name"
    assert not Queue.objects.filter(name__iexact="extra").exists()


def test_a_landscape_naming_queues_by_id_plans_its_own_export_unchanged() -> None:
    build_landscape()
    sales = Queue.objects.get(name="Sales")
    make_integration(
        "Router", events=["received"], configuration=_steering(queue={"id": str(sales.pk)})
    )

    result = config_import(document=config_export())

    assert {p.action for p in result.plan.objects} == {"unchanged"}
    stored = Integration.objects.get(name="Router").configuration["response"]["set"]
    assert stored == {"queue": {"id": str(sales.pk)}}
