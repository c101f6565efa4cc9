"""A queue's maximum waiting time has an upper bound: a clear 400, never a 500 or a stuck queue."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from queues.models import Queue
from tests.factories import make_queue

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("seconds", [99999999999999999999, 259200000000, 7 * 86400 + 1])
def test_a_waiting_time_beyond_a_week_is_refused(
    api: APIClient, queue: Queue, seconds: int
) -> None:
    overflow = make_queue("Overflow", ["01E4556565565ERKYO@facebook"])
    response = api.patch(
        f"/api/v1/queues/{queue.pk}/",
        {"max_waiting_time": seconds, "overflow_queue": overflow.pk},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "max_waiting_time" in response.json()
    queue.refresh_from_db()
    assert queue.max_waiting_time is None


def test_a_week_is_accepted(api: APIClient, queue: Queue) -> None:
    overflow = make_queue("Overflow", ["01E4556565565ERKYO@facebook"])
    response = api.patch(
        f"/api/v1/queues/{queue.pk}/",
        {"max_waiting_time": 7 * 86400, "overflow_queue": overflow.pk},
        format="json",
    )
    assert response.status_code == 200, response.content
