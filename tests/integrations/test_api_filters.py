"""The integrations API's query-string filters: a value no row can have is a 400 naming it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from integrations.models import Integration
from queues.models import Queue
from tests.factories import make_integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(queue: Queue) -> Integration:
    return make_integration(queues=[queue])


@pytest.mark.parametrize("name", ["status", "event", "mode"])
def test_deliveries_refuse_an_unknown_choice_naming_the_parameter(
    api: APIClient, integration: Integration, name: str
) -> None:
    response = api.get(f"/api/v1/integrations/{integration.pk}/deliveries/", {name: "bogus"})

    assert response.status_code == 400
    assert response.json() == {
        name: ["Select a valid choice. bogus is not one of the available choices."]
    }


def test_deliveries_take_known_choices_and_empty_values(
    api: APIClient, integration: Integration
) -> None:
    url = f"/api/v1/integrations/{integration.pk}/deliveries/"

    known = api.get(url, {"status": "failed", "event": "queued", "mode": "background"})
    empty = api.get(url, {"status": "", "event": "", "mode": "", "contact": ""})

    assert (known.status_code, known.json()["results"]) == (200, [])
    assert (empty.status_code, empty.json()["results"]) == (200, [])


def test_deliveries_do_not_filter_the_integration_by_the_list_filters(
    api: APIClient, integration: Integration
) -> None:
    # ?direction= is a filter of the integration list; the log of one integration ignores it.
    response = api.get(
        f"/api/v1/integrations/{integration.pk}/deliveries/", {"direction": "outbound"}
    )

    assert response.status_code == 200


@pytest.mark.parametrize("value", ["99999999999999999999", "-99999999999999999999"])
def test_integration_list_refuses_a_queue_id_beyond_any_key(
    api: APIClient, integration: Integration, value: str
) -> None:
    response = api.get("/api/v1/integrations/", {"queues": value})

    assert response.status_code == 400
    assert list(response.json()) == ["queues"]


def test_integration_list_filters_by_queue(
    api: APIClient, integration: Integration, queue: Queue
) -> None:
    other = make_integration("Other")

    found = api.get("/api/v1/integrations/", {"queues": queue.pk}).json()["results"]

    assert [row["id"] for row in found] == [integration.pk]
    assert other.pk != integration.pk
