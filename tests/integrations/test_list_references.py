"""The lookups an integration list makes at once answer as the lookups of one integration do."""

from __future__ import annotations

from typing import Any

import pytest

from integrations import selectors
from integrations.models import Integration
from tests.factories import make_agent, make_integration, make_queue
from tests.shapes import Rows

pytestmark = pytest.mark.django_db


def _routing(name: str, named: dict[str, Any], agents: list[str]) -> Integration:
    integration = make_integration(name, events=["received"])
    # As stored after the named rows changed: the checks are what the list shows.
    integration.configuration = {
        "request": {"method": "POST"},
        "response": {"set": {"queue": named, "requiredAgents": {"agents": agents}}},
    }
    Integration.objects.filter(pk=integration.pk).update(configuration=integration.configuration)
    return integration


def test_list_references_answer_like_one_by_one_lookups(
    django_assert_max_num_queries: Any,
) -> None:
    rows = Rows()
    queue = rows.queue()
    phone = make_queue("Phones", ["+4930123", "+4930124"], channel_type="phone")
    agent = make_agent("Bob", number="77", email="bob@example.com", chat_address="bob@chat")
    short = queue.addresses.values_list("address", flat=True)[0].split(".")[0]
    integrations = [
        _routing("by id", {"id": str(queue.pk)}, [agent.number, "nobody@example.com"]),
        _routing("by padded id", {"id": f"00{queue.pk}"}, [f"00{agent.pk}", agent.email]),
        _routing("by short address", {"address": short}, [agent.chat_address]),
        _routing("missing id", {"id": "424242"}, ["424242"]),
        _routing("phone queue", {"address": "+4930124"}, ["Bob"]),
        _routing("missing address", {"address": "01NOPE@whatsapp"}, ["78"]),
    ]
    assert phone.pk
    integrations = list(selectors.integration_list().filter(pk__in=[i.pk for i in integrations]))
    with django_assert_max_num_queries(3):
        batched = selectors.integration_list_references(integrations)
    for integration in integrations:
        assert selectors.integration_problems(
            integration, references=batched
        ) == selectors.integration_problems(integration), integration.name
    # The rows that name what does not exist or does not fit say so.
    problems = {i.name: selectors.integration_problems(i, references=batched) for i in integrations}
    assert not problems["by id"][1:] and "nobody@example.com" in " ".join(problems["by id"])
    assert problems["by padded id"] == [] and problems["by short address"] == []
    assert "424242" in " ".join(problems["missing id"])
    assert "phone queue" in " ".join(problems["phone queue"])
    assert "01NOPE@whatsapp" in " ".join(problems["missing address"])


def test_a_list_naming_nothing_makes_no_lookup(django_assert_num_queries: Any) -> None:
    make_integration("Listener")
    integrations = list(selectors.integration_list())
    with django_assert_num_queries(0):
        selectors.integration_list_references(integrations)
