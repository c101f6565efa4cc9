"""Operator actions over a selection of any size: one batch now, the rest walked in the background.

"Select all" in an admin list, or an API call with a time range, can select hundreds of
thousands of rows; doing them all in the request outruns the web server's timeout, and a killed
request rolls everything back. So the request does one bounded batch (a few set-based queries)
and answers; when more is selected, one task walks the rest in batches of the same size, by
primary key, up to the highest key the table had when the operator asked (rows that arrive later
are not theirs). Each batch commits together with the task that continues after it, so a batch
is done once, and the walk goes on exactly where the last committed batch ended. A walk whose
worker was killed mid-batch is enqueued again with its arguments by
`configurator.workers.stale_tasks_finish`: its batch rolled back, so it starts where it was.

The selection travels to the worker as the queryset's pickled `query` (the way Django documents
to rebuild a queryset elsewhere; a filter of the admin's list or an API call stays exactly what
it was), signed with SECRET_KEY so that a worker unpickles only what this application wrote.
"""

from __future__ import annotations

import base64
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from django.core import signing
from django.db.models import Max, Model, QuerySet

from configurator import extensions
from configurator.tasks import enqueue_in_turn

M = TypeVar("M", bound=Model)
T = TypeVar("T")

_SALT = "configurator.bulk.selection"


@dataclass(frozen=True)
class Started:
    """What the request did: `done` rows in its batch; `more` says a task walks the rest."""

    done: int
    more: bool


def selection_dump(queryset: QuerySet[Any]) -> str:
    """The selection as a signed text a task argument can carry."""
    data = base64.b64encode(pickle.dumps(queryset.query)).decode("ascii")
    return signing.Signer(salt=_SALT).sign(data)


def selection_load(model: type[M], token: str) -> QuerySet[M]:
    """The queryset `selection_dump` wrote (signing.BadSignature if it was not written here)."""
    data = signing.Signer(salt=_SALT).unsign(token)
    queryset = model._default_manager.all()
    queryset.query = pickle.loads(base64.b64decode(data))  # noqa: S301 - signed by this app
    return queryset


def highest_key(model: type[Model]) -> int:
    """The highest primary key now (one index lookup): where a walk started now ends."""
    return int(model._default_manager.aggregate(top=Max("pk"))["top"] or 0)


def next_batch(rows: QuerySet[Any], *, after: int, up_to: int, size: int) -> tuple[list[Any], bool]:
    """The next `size` rows of a walk (keys after `after`, up to `up_to`, in key order), and
    whether more follow: one query that reads one row past the batch."""
    taken = list(rows.filter(pk__gt=after, pk__lte=up_to).order_by("pk")[: size + 1])
    return taken[:size], len(taken) > size


def walk_on(
    walk: Any, selection: QuerySet[Any], *, token: str | None, last: int, up_to: int
) -> None:
    """Enqueue the walk's next step after key `last`, in the transaction of the batch before
    (the selection is written out once, by the request, and carried on from there)."""
    enqueue_in_turn(walk, token or selection_dump(selection), last, up_to)


def batched(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of at most `size`."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def is_resumable(module_path: str) -> bool:
    """Whether a walk queued under this task path may be enqueued again after its worker died.

    Apps name their walks in `extensions.resumable_walks` (their `ready()`).
    """
    return module_path in set(extensions.resumable_walks)
