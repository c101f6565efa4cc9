"""Every extension point of the project, in one place, named for when what it holds runs.

An upstream app cannot import a downstream one (configurator ← queues ← conversations ←
messaging, integrations), yet sometimes needs what only a downstream app knows: which Sinch apps
exist, how a reply leaves, what to do when a conversation's event is recorded. The upstream app
reads one of the points below; the downstream app fills it in its `AppConfig.ready()`, never at
import time. Every point has the same semantics: `register` is idempotent (an item with the key
of one already there replaces it in place, so registering twice changes nothing), `unregister`
removes it if present, and iterating gives the items in registration order (apps register in
INSTALLED_APPS order, upstream first). The list is also in docs/architecture.md.

This module imports no other app at run time: the items' types are named for the type checker
only (under TYPE_CHECKING), which is why it can sit at the bottom of the house and still say
what a downstream app's items are.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from django.contrib.admin.options import InlineModelAdmin
    from django.http import HttpRequest
    from prometheus_client.metrics_core import Metric

    from configurator.housekeeping import Job
    from configurator.retention import Rule
    from conversations.gateways import Gateway
    from conversations.lifecycle import LifecycleEvent
    from conversations.models import Contact, ContactEvent
    from conversations.retention import ContactHold
    from queues.models import Queue
    from queues.validation import SinchApp

T = TypeVar("T")


def _itself(item: Any) -> Hashable:
    return item  # type: ignore[no-any-return]


class ExtensionPoint(Generic[T]):
    """A named, ordered set of items that downstream apps register in their `ready()`."""

    def __init__(self, name: str, doc: str, *, key: Callable[[T], Hashable] = _itself) -> None:
        self.name = name
        self.__doc__ = doc
        self._key = key
        self._items: dict[Hashable, T] = {}

    def register(self, item: T) -> T:
        """Add `item`, or replace the item registered under its key (idempotent)."""
        self._items[self._key(item)] = item
        return item

    def unregister(self, item: T) -> None:
        """Remove the item registered under `item`'s key, if any (tests, or an app turned off)."""
        self._items.pop(self._key(item), None)

    def __iter__(self) -> Iterator[T]:
        # A copy: a listener that registers or unregisters while being called changes nothing
        # of the round under way.
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<ExtensionPoint {self.name}: {len(self._items)} registered>"


def _job_name(job: Job) -> Hashable:
    return job.name


def _rule_key(rule: Rule) -> Hashable:
    return rule.key


def _hold_table(hold: ContactHold) -> Hashable:
    return hold.model._meta.label


contact_event_in_transaction: ExtensionPoint[
    Callable[[Contact, ContactEvent, Queue | None], None]
] = ExtensionPoint(
    "contact_event_in_transaction",
    """Called inside the transaction that records each lifecycle event, right after it.

    Gets the contact (locked, as just recorded), the event row and the queue the event concerns
    (the contact's, or on Received the routed one). Each call runs in a savepoint: one that fails
    is rolled back and logged and the lifecycle goes on. Work that calls out over the network is
    handed to `conversations.lifecycle.defer`. Registered by integrations (deliveries, blocking
    calls).""",
)

contact_event_after_commit: ExtensionPoint[Callable[[LifecycleEvent], None]] = ExtensionPoint(
    "contact_event_after_commit",
    """Told of each lifecycle event once, after the transaction that recorded it committed.

    A rolled-back event is never told; a failing listener is logged and the others still hear.
    Registered by conversations (overflow checks).""",
)

queue_overflow_changed_after_commit: ExtensionPoint[Callable[[Queue], None]] = ExtensionPoint(
    "queue_overflow_changed_after_commit",
    """Told of a queue whose overflow settings were saved, after that commit.

    Registered by conversations (overflow checks are scheduled again).""",
)

sinch_app_directory: ExtensionPoint[Callable[[Collection[str]], dict[str, SinchApp]]] = (
    ExtensionPoint(
        "sinch_app_directory",
        """Looks up which of the given Sinch app IDs a messaging service holds, and where.

        Called when queue addresses are validated; the answers of every directory are merged.
        Registered by messaging (its outbound credentials).""",
    )
)

reply_gateways: ExtensionPoint[Gateway] = ExtensionPoint(
    "reply_gateways",
    """How replies leave: the first gateway that `handles` a contact sends its replies.

    Called when an agent replies or starts an outbound chat (its first message). Registered by
    messaging (the Sinch gateway).""",
)

contact_page_inlines: ExtensionPoint[type[InlineModelAdmin[Any, Contact]]] = ExtensionPoint(
    "contact_page_inlines",
    """Inlines shown on a contact's admin page after its own timeline, in this order.

    Read when the page is rendered. Registered by integrations (the contact's deliveries).""",
)

housekeeping_jobs: ExtensionPoint[Job] = ExtensionPoint(
    "housekeeping_jobs",
    """Periodic jobs every worker process runs at start and then every job's interval.

    Keyed by the job's name. Registered by configurator (heartbeat, stale task rows, prune),
    messaging (callbacks sweep) and integrations (deliveries sweep).""",
    key=_job_name,
)

retention_rules: ExtensionPoint[Rule] = ExtensionPoint(
    "retention_rules",
    """Tables (or parts of them) pruned once their rows pass their retention period.

    Run by the workers' prune job and `manage.py prune`, downstream rules first. Keyed by table
    and subset. Registered by configurator (task results, audit entries), conversations (ended
    contacts' events), messaging (callbacks) and integrations (deliveries).""",
    key=_rule_key,
)

contact_event_holds: ExtensionPoint[ContactHold] = ExtensionPoint(
    "contact_event_holds",
    """Tables whose rows keep their contact's events from being pruned while they exist.

    Read by the retention rules of contact events. Keyed by table. Registered by integrations
    (deliveries name the event they were sent for).""",
    key=_hold_table,
)

metrics_state_readers: ExtensionPoint[Callable[[], Iterable[Metric]]] = ExtensionPoint(
    "metrics_state_readers",
    """Gauges read from the database at each /metrics scrape (a few indexed queries each).

    Registered by configurator (workers), conversations (queues), messaging (callbacks) and
    integrations (deliveries).""",
)

resumable_walks: ExtensionPoint[str] = ExtensionPoint(
    "resumable_walks",
    """Task paths of bulk walks that may be enqueued again, with their arguments, after the worker
    running them stopped (`configurator.bulk`; read by the workers' stale task rows job).

    A walk's path as it is now and any path its rows were queued under before it moved.
    Registered by messaging (reprocess) and integrations (resend).""",
)

admin_index_blocks: ExtensionPoint[Callable[[HttpRequest], str]] = ExtensionPoint(
    "admin_index_blocks",
    """Parts of the admin's index page (the home page), above its list of sections, in order.

    Called when the index is rendered, with the request (whose user decides what a part may
    show); each returns HTML, or "" to show nothing. Registered by cockpit (the setup checklist,
    live figures and charts).""",
)
