"""A warning when a queue's overflow goes round in a circle, after the admin's save and in the
API's answer; the queue is saved all the same."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import WARNING
from django.test import Client
from rest_framework.test import APIClient

from queues import selectors
from queues.models import Queue
from tests.factories import make_queue

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def _circle(*names: str) -> str:
    return (
        f"Overflow goes round in a circle: {' → '.join(names)}. A conversation that waits too "
        "long moves from queue to queue in it for ever; give one of them no overflow, or an "
        "overflow queue outside the circle."
    )


def _phone(name: str, number: str, **fields: Any) -> Queue:
    return make_queue(name, [number], channel_type="phone", **fields)


def test_the_admin_saves_a_circle_and_warns(admin_client_: Client) -> None:
    sales = _phone("Sales", "+3581001")
    support = _phone("Support", "+3581002", max_waiting_time=MINUTE, overflow_queue=sales)

    response = admin_client_.post(
        f"/admin/queues/queue/{sales.pk}/change/",
        {
            "name": "Sales",
            "channel_type": "phone",
            "default_priority": "100",
            "addresses": "+3581001",
            "max_waiting_time": "00:02:00",
            "overflow_queue": str(support.pk),
        },
        follow=True,
    )

    assert response.status_code == 200
    sales.refresh_from_db()
    assert sales.overflow_queue == support
    warnings = [str(m) for m in response.context["messages"] if m.level == WARNING]
    assert warnings == [_circle("Sales", "Support", "Sales")]


def test_the_api_warns_of_a_circle_the_queue_leads_into(api: APIClient) -> None:
    b = _phone("B", "+3582001")
    c = _phone("C", "+3582002", max_waiting_time=MINUTE, overflow_queue=b)
    b.max_waiting_time, b.overflow_queue = MINUTE, c
    b.save()

    response = api.post(
        "/api/v1/queues/",
        {
            "name": "A",
            "channel_type": "phone",
            "addresses": ["+3582003"],
            "max_waiting_time": 60,
            "overflow_queue": b.pk,
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["warnings"] == [_circle("B", "C", "B")]


def test_a_chain_that_ends_says_nothing(api: APIClient) -> None:
    last = _phone("Last", "+3583001")
    middle = _phone("Middle", "+3583002", max_waiting_time=MINUTE, overflow_queue=last)
    response = api.post(
        "/api/v1/queues/",
        {
            "name": "First",
            "channel_type": "phone",
            "addresses": ["+3583003"],
            "max_waiting_time": 60,
            "overflow_queue": middle.pk,
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["warnings"] == []
    # Breaking the circle on update says nothing either.
    changed = api.patch(
        f"/api/v1/queues/{last.pk}/", {"description": "the end of the line"}, format="json"
    )
    assert changed.json()["warnings"] == []


def test_the_walk_is_bounded(django_assert_max_num_queries: Any) -> None:
    previous = _phone("Q0", "+3584000")
    for n in range(1, selectors.OVERFLOW_WALK_MAX + 10):
        previous = _phone(
            f"Q{n}", f"+358400{n:03d}", max_waiting_time=MINUTE, overflow_queue=previous
        )
    with django_assert_max_num_queries(selectors.OVERFLOW_WALK_MAX + 1):
        assert selectors.overflow_circle(previous) == []
