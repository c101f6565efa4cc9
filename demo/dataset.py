"""A demo dataset for `manage.py seed_demo`: a contact center's month, built with bulk inserts.

How many rows of each kind, and their spreads, are in `demo.scales`. The rows are written
straight into every app's tables with `bulk_create` in large batches: going through each app's
services would run routing, integrations and the lifecycle per row, which is what makes a year of
data take a year (on PostgreSQL the callbacks and task results are built by the database,
`demo.postgres`). Task results come with them (the worker's finished rows, 0.6 per callback, of
the last 7 days: what retention keeps), and in `large` a few contacts have hundreds of events and
messages (a conversation that went on for weeks), so that the contact page's latest-rows cap is
measured. The values are realistic in shape (states, triggers, statuses, retries, timestamps),
not in meaning: callbacks' bodies are small JSON documents that no worker should process again,
which is why none is left pending.

It stays one module a little past STYLE's ~500 lines on purpose: `DemoBuilder` is one recipe read
top to bottom (each table's rows refer to the ones built before them, sharing the builder's
random source, tag and id helpers), run only by `seed_demo` and the benchmarks; the numbers and
the SQL statements, which stand on their own, are in `demo.scales` and `demo.postgres`.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from conversations.choices import ChannelType, Direction, Event, MessageDirection, MessageKind
from conversations.choices import MessageStatus as MsgStatus
from conversations.models import Agent, Contact, ContactEvent, Message
from demo import postgres
from demo.scales import (
    CALLBACK_STATUSES,
    CALLBACK_TRIGGERS,
    CONTACT_STATES,
    DAYS,
    MESSAGE_STATUSES,
    SCALES,
    SINCH_CHANNELS,
    SUBCHANNELS,
    TASK_DAYS,
    TASK_PATHS,
    TASK_RESULTS_PER_CALLBACK,
    Scale,
)
from integrations.choices import DeliveryMode, DeliveryStatus, IntegrationChannelType
from integrations.models import Delivery, Integration, IntegrationAuthentication
from integrations.services import triggers_rebuild
from messaging.choices import AuthenticationDirection, CallbackStatus, Trigger
from messaging.models import Callback, MessagingService, ServiceAuthentication
from queues.models import Queue, QueueAddress

M = TypeVar("M", bound=models.Model)

BATCH_SIZE = 5000


def database_has_data() -> bool:
    """Whether any row the demo would add to (services, queues, agents, contacts) exists."""
    return any(
        model.objects.exists() for model in (MessagingService, Queue, Agent, Contact, Integration)
    )


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in table], weights=[w for _, w in table])[0]


def _insert(model: type[M], rows: Iterable[M], *, batch_size: int = BATCH_SIZE) -> list[M]:
    """Bulk-insert in batches, each its own statement, without holding all rows in memory twice."""
    stored: list[M] = []
    iterator = iter(rows)
    while batch := list(islice(iterator, batch_size)):
        stored.extend(model._default_manager.bulk_create(batch, batch_size=batch_size))
    return stored


def _stream(model: type[M], rows: Iterator[M], *, batch_size: int = BATCH_SIZE) -> int:
    """Bulk-insert rows nobody refers to later, keeping none of them: the count inserted."""
    count = 0
    while batch := list(islice(rows, batch_size)):
        model._default_manager.bulk_create(batch, batch_size=batch_size)
        count += len(batch)
    return count


class DemoBuilder:
    """Builds one dataset; `tag` keeps names unique when a dataset is added on top of another."""

    def __init__(self, *, scale: Scale, tag: str, seed: int, report: Callable[[str], None]) -> None:
        self.scale = scale
        self.tag = tag
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not security
        self.report = report
        self.now = timezone.now()
        self.start = self.now - timedelta(days=DAYS)

    def _moment(self) -> datetime:
        return self.start + timedelta(seconds=self.rng.uniform(0, DAYS * 86400))

    def build(self) -> dict[str, int]:
        """Insert the whole dataset; returns the rows inserted per kind."""
        counts: dict[str, int] = {}
        services, apps = self._services()
        counts["messaging services"] = len(services)
        counts["apps"] = len(apps)
        queues = self._queues(apps)
        counts["queues"] = len(queues)
        agents = self._agents(queues)
        counts["agents"] = len(agents)
        integrations = self._integrations(queues, agents)
        counts["integrations"] = len(integrations)
        contacts, events = self._contacts(queues, agents)
        counts["contacts"] = len(contacts)
        counts["contact events"] = len(events)
        counts["messages"] = self._messages(contacts, agents)
        # Their events are among those deliveries are made for: they get hundreds too.
        busy_events, busy_messages = self._busy_contacts(contacts, agents)
        events = [*events, *busy_events]
        counts["busy contacts' events"] = len(busy_events)
        counts["busy contacts' messages"] = busy_messages
        if connection.vendor == "postgresql":
            postgres.callbacks_insert(apps=apps, scale=self.scale, tag=self.tag, start=self.start)
            counts["callbacks"] = self.scale.callbacks
            self.report(f"{self.scale.callbacks} callbacks")
        else:
            counts["callbacks"] = self._callbacks(services, apps, contacts)
        counts["deliveries"] = self._deliveries(integrations, events)
        counts["task results"] = self._task_results()
        if connection.vendor == "postgresql":
            # Fresh statistics: the admin's estimated counts read them (configurator.admin_counts).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        return counts

    def _services(self) -> tuple[list[MessagingService], list[tuple[MessagingService, str]]]:
        regions = ("eu", "us", "br")
        services = _insert(
            MessagingService,
            (
                MessagingService(
                    name=f"Demo {self.tag} service {n:03d}",
                    service_connection=(
                        f"https://{regions[n % 3]}.conversation.api.sinch.com/v1/projects/"
                        f"demo-{self.tag}-{n:03d}/messages:send"
                    ),
                    region=regions[n % 3],
                    project_id=f"demo-{self.tag}-{n:03d}",
                )
                for n in range(self.scale.services)
            ),
        )
        apps: list[tuple[MessagingService, str]] = []
        entries: list[ServiceAuthentication] = []
        # One secret for all: encrypting thousands of distinct ones would only cost time.
        secret = secrets.token_urlsafe(24)
        for number, service in enumerate(services):
            entries.append(
                ServiceAuthentication(
                    service=service,
                    direction=AuthenticationDirection.INBOUND,
                    authentication_id="webhook",
                    secret=secret,
                    triggers=[Trigger.MESSAGE_INBOUND, Trigger.MESSAGE_DELIVERY],
                )
            )
            for index in range(self.scale.apps_per_service):
                app_id = f"01DEMO{self.tag.upper()}{number:03d}{index:02d}"
                apps.append((service, app_id))
                entries.append(
                    ServiceAuthentication(
                        service=service,
                        direction=AuthenticationDirection.OUTBOUND,
                        authentication_id=f"demo-key-{number}-{index}@{app_id}",
                        key_id=f"demo-key-{number}-{index}",
                        app_id=app_id,
                        secret=secret,
                    )
                )
        _insert(ServiceAuthentication, entries)
        self.report(f"{len(services)} messaging services, {len(apps)} apps")
        return services, apps

    def _queues(self, apps: list[tuple[MessagingService, str]]) -> list[Queue]:
        addresses = [(app_id, sub) for _, app_id in apps for sub in SUBCHANNELS]
        queues = _insert(
            Queue,
            (
                Queue(
                    name=f"Demo {self.tag} queue {n:05d}",
                    default_priority=self.rng.choice((50, 100, 100, 100, 200)),
                    sms_sender_id="DEMO" if addresses[n % len(addresses)][1] == "sms" else "",
                )
                for n in range(self.scale.queues)
            ),
        )
        _insert(
            QueueAddress,
            (
                QueueAddress(
                    queue=queue,
                    address=f"{app_id}@{sub}.sinchconversation.com",
                    app_id=app_id,
                    subchannel=sub,
                )
                for queue, (app_id, sub) in zip(queues, addresses, strict=False)
            ),
        )
        # A tenth of the queues overflow into the next one after two to ten minutes.
        overflowing = queues[: len(queues) // 10]
        for position, queue in enumerate(overflowing):
            queue.overflow_queue = queues[(position + 1) % len(queues)]
            queue.max_waiting_time = timedelta(minutes=self.rng.randint(2, 10))
        Queue.objects.bulk_update(
            overflowing, ["overflow_queue", "max_waiting_time"], batch_size=1000
        )
        self.report(f"{len(queues)} queues, {len(overflowing)} of them overflowing")
        return queues

    def _agents(self, queues: list[Queue]) -> list[Agent]:
        agents = _insert(
            Agent,
            (
                Agent(
                    name=f"Demo agent {n:04d}",
                    number=f"{self.tag}-{n:04d}",
                    chat_address=f"agent{n:04d}@demo.invalid",
                )
                for n in range(self.scale.agents)
            ),
        )
        through = Agent.queues.through
        _insert(
            through,
            (
                through(agent_id=agent.pk, queue_id=queue.pk)
                for agent in agents
                for queue in self.rng.sample(queues, min(3, len(queues)))
            ),
        )
        self.report(f"{len(agents)} agents, 3 queues each")
        return agents

    def _integrations(self, queues: list[Queue], agents: list[Agent]) -> list[Integration]:
        """Listeners on every event, and routers whose `set` names different queues/agents."""
        built: list[Integration] = []
        secret = secrets.token_urlsafe(16)
        for n in range(self.scale.integrations):
            events = list(Event.values) if n % 2 else [Event.RECEIVED, Event.QUEUED]
            configuration: dict[str, Any] = {
                "request": {"method": "POST", "body": {"event": "{event}", "contact": "{contact}"}}
            }
            if n % 4 == 1:
                target = queues[(n * 37) % len(queues)]
                configuration = {
                    "request": {"method": "GET", "params": {"from": "{contact.source}"}},
                    "response": {"set": {"queue": {"id": str(target.pk)}, "priority": "50"}},
                }
                events = [Event.RECEIVED]
            elif n % 4 == 3:
                agent = agents[(n * 13) % len(agents)]
                configuration = {
                    "request": {"method": "GET"},
                    "response": {
                        "set": {"preferredAgent": agent.number},
                        "save": {"crm": "{response.body.id}"},
                    },
                }
                events = [Event.RECEIVED]
            integration = Integration.objects.create(
                channel_type=IntegrationChannelType.CHAT,
                name=f"Demo {self.tag} integration {n:02d}",
                endpoint_url=f"https://crm{n % 5}.demo.invalid/events",
                ordinal=1 + n % 5,
                events=events,
                direct_chats=n % 3 == 0,
                configuration=configuration,  # type: ignore[misc]  # JSON in a TextField
            )
            integration.queues.set(self.rng.sample(queues, min(1 + n % 8, len(queues))))
            IntegrationAuthentication.objects.create(
                integration=integration, authentication_id="basic:demo", secret=secret
            )
            triggers_rebuild(integration=integration)
            built.append(integration)
        self.report(f"{len(built)} integrations")
        return built

    def _contacts(
        self, queues: list[Queue], agents: list[Agent]
    ) -> tuple[list[Contact], list[ContactEvent]]:
        contacts: list[Contact] = []
        for n in range(self.scale.contacts):
            created = self._moment()
            state = _weighted(self.rng, CONTACT_STATES)
            queue = self.rng.choice(queues)
            with_agent = state in (Event.ACCEPTED, Event.ALLOCATED, Event.ENDED, Event.TRANSFERRED)
            queued_at = created + timedelta(seconds=self.rng.uniform(0.05, 3))
            changed = queued_at + timedelta(seconds=self.rng.uniform(5, 900))
            sub = self.rng.choice(SUBCHANNELS)
            contacts.append(
                Contact(
                    id=f"{int(created.timestamp() * 1000):012X}{n:08X}{self.tag.upper():0>12}"[:32],
                    guid=f"G{self.tag.upper()}{n:027X}",
                    channel_type=ChannelType.CHAT,
                    channel_sub_type=sub,
                    direction=Direction.INBOUND,
                    created=created,
                    priority=queue.default_priority,
                    queue=None if state == Event.RECEIVED else queue,
                    agent=self.rng.choice(agents) if with_agent else None,
                    source=f"+4670{n:07d}",
                    destination=f"DEMO@{sub}.sinchconversation.com",
                    state=state,
                    state_changed_at=created if state == Event.RECEIVED else changed,
                    queued_at=None if state == Event.RECEIVED else queued_at,
                    waiting_since=queued_at if state == Event.QUEUED else None,
                    accepted_at=changed if state in (Event.ACCEPTED, Event.ENDED) else None,
                    ended_at=changed if state in (Event.ENDED, Event.ABANDONED) else None,
                    sinch_app_id=f"01DEMO{self.tag.upper()}",
                    sinch_channel=SINCH_CHANNELS[sub],
                    sinch_contact_id=f"DEMOCONTACT{self.tag.upper()}{n:08d}",
                    sinch_conversation_id=f"DEMOCONV{self.tag.upper()}{n:08d}",
                    thread_key=f"DEMOCONV{self.tag.upper()}{n:08d}",
                )
            )
        _insert(Contact, iter(contacts))
        # Three events each: received, queued, and where it stands (for one still waiting, the
        # allocation its agent rejected); one still being received has only the first.
        events = _insert(ContactEvent, self._events_of(contacts))
        self.report(f"{len(contacts)} contacts, {len(events)} events")
        return contacts, events

    def _events_of(self, contacts: list[Contact]) -> Iterator[ContactEvent]:
        for contact in contacts:
            yield ContactEvent(contact=contact, event=Event.RECEIVED, occurred_at=contact.created)
            if contact.state == Event.RECEIVED:
                continue
            queued_at = contact.queued_at or contact.created
            yield ContactEvent(
                contact=contact,
                event=Event.QUEUED,
                occurred_at=queued_at,
                snapshot={"queue": contact.queue_id},
            )
            last = Event.REJECTED if contact.state == Event.QUEUED else contact.state
            yield ContactEvent(
                contact=contact,
                event=last,
                occurred_at=contact.state_changed_at + timedelta(milliseconds=1),
                snapshot={"queue": contact.queue_id, "agent": contact.agent_id},
            )

    def _messages(self, contacts: list[Contact], agents: list[Agent]) -> int:
        def rows() -> Iterator[Message]:
            for n, contact in enumerate(contacts):
                inbound = n % 2 == 0
                yield Message(
                    contact=contact,
                    direction=MessageDirection.INBOUND if inbound else MessageDirection.OUTBOUND,
                    kind=MessageKind.TEXT,
                    text="Hello, I need help with my order." if inbound else "Happy to help!",
                    sinch_message_id=f"DEMOMSG{self.tag.upper()}{n:08d}",
                    status=MsgStatus.RECEIVED if inbound else _weighted(self.rng, MESSAGE_STATUSES),
                    status_at=contact.created,
                    agent=None if inbound else contact.agent or self.rng.choice(agents),
                    created_at=contact.created,
                )

        count = _stream(Message, rows())
        self.report(f"{count} messages")
        return count

    def _busy_contacts(
        self, contacts: list[Contact], agents: list[Agent]
    ) -> tuple[list[ContactEvent], int]:
        """A few ended contacts get `busy_rows` more events and messages each."""
        ended = [c for c in contacts if c.state == Event.ENDED][: self.scale.busy_contacts]

        def events() -> Iterator[ContactEvent]:
            for contact in ended:
                for i in range(self.scale.busy_rows):
                    yield ContactEvent(
                        contact=contact,
                        event=Event.TRANSFERRED if i % 2 else Event.ACCEPTED,
                        occurred_at=contact.created + timedelta(minutes=i),
                        snapshot={"queue": contact.queue_id, "agent": contact.agent_id},
                    )

        def messages() -> Iterator[Message]:
            for n, contact in enumerate(ended):
                for i in range(self.scale.busy_rows):
                    inbound = i % 2 == 0
                    yield Message(
                        contact=contact,
                        direction=MessageDirection.INBOUND
                        if inbound
                        else MessageDirection.OUTBOUND,
                        kind=MessageKind.TEXT,
                        text=f"Message {i} of a long conversation.",
                        sinch_message_id=f"DEMOBUSY{self.tag.upper()}{n:04d}{i:06d}",
                        status=MsgStatus.RECEIVED if inbound else MsgStatus.READ,
                        status_at=contact.created + timedelta(minutes=i),
                        agent=None if inbound else contact.agent,
                        created_at=contact.created + timedelta(minutes=i),
                    )

        busy_events = _insert(ContactEvent, events())
        count = _stream(Message, messages())
        if ended:
            self.report(f"{len(ended)} busy contacts: {len(busy_events)} events, {count} messages")
        return busy_events, count

    def _task_results(self) -> int:
        """The worker's finished rows of the last TASK_DAYS: most succeeded, a few failed."""
        count = int(self.scale.callbacks * TASK_RESULTS_PER_CALLBACK)
        since = self.now - timedelta(days=TASK_DAYS)
        if connection.vendor == "postgresql":
            postgres.task_results_insert(count=count, since=since)
        else:
            rows = [self._task_result(since) for _ in range(count)]
            _insert(DBTaskResult, rows)
            # enqueued_at is auto_now_add (bulk_create sets it to now): spread it as run_after.
            pks = [row.pk for row in rows]
            for start in range(0, len(pks), 500):
                DBTaskResult.objects.filter(pk__in=pks[start : start + 500]).update(
                    enqueued_at=models.F("run_after")
                )
        self.report(f"{count} task results")
        return count

    def _task_result(self, since: datetime) -> DBTaskResult[Any, Any]:
        enqueued = since + timedelta(seconds=self.rng.uniform(0, TASK_DAYS * 86400))
        failed = self.rng.random() < 0.01
        return DBTaskResult(
            status="FAILED" if failed else "SUCCESSFUL",
            args_kwargs={"args": [], "kwargs": {}},
            priority=0,
            task_path=_weighted(self.rng, TASK_PATHS),
            queue_name="default",
            backend_name="default",
            run_after=enqueued,
            enqueued_at=enqueued,
            started_at=enqueued,
            finished_at=enqueued + timedelta(milliseconds=self.rng.randint(5, 900)),
            return_value=None if failed else 1,
            exception_class_path="builtins.RuntimeError" if failed else "",
            traceback="Traceback (demo data)" if failed else "",
            worker_ids=["demo-worker"],
        )

    def _callbacks(
        self,
        services: list[MessagingService],
        apps: list[tuple[MessagingService, str]],
        contacts: list[Contact],
    ) -> int:
        def rows() -> Iterator[Callback]:
            for n in range(self.scale.callbacks):
                service, app_id = apps[n % len(apps)]
                contact = contacts[n % len(contacts)]
                trigger = _weighted(self.rng, CALLBACK_TRIGGERS)
                status = _weighted(self.rng, CALLBACK_STATUSES)
                received = self._moment()
                message_id = f"DEMOCB{self.tag.upper()}{n:09d}"
                body = {
                    "app_id": app_id,
                    "accepted_time": received.isoformat(),
                    "demo": True,
                    "message": {"id": message_id, "conversation_id": contact.sinch_conversation_id},
                }
                yield Callback(
                    service_id=service.pk,
                    trigger=trigger,
                    app_id=app_id,
                    message_id=message_id,
                    contact_id=contact.sinch_contact_id,
                    conversation_id=contact.sinch_conversation_id,
                    nonce=f"demo-{self.tag}-{n}",
                    signed_at=received,
                    received_at=received,
                    raw_body=json.dumps(body).encode(),
                    dedupe_key=f"{trigger}:{message_id}",
                    status=status,
                    status_reason="" if status == CallbackStatus.PROCESSED else "demo data",
                    summary={"trigger": trigger, "message_id": message_id},
                    attempts=1,
                    processed_at=received + timedelta(milliseconds=self.rng.randint(5, 400)),
                )

        count = _stream(Callback, rows())
        self.report(f"{count} callbacks")
        return count

    def _deliveries(self, integrations: list[Integration], events: list[ContactEvent]) -> int:
        """Attempts of background listeners: most succeed at once, some after retries.

        A retry is a new row that points at the attempt it follows, as the runtime writes it
        (`dispatch._schedule`): each batch of chains is inserted attempt by attempt, so that
        every row knows the key of the one before it.
        """

        def chains() -> Iterator[list[Delivery]]:
            made = 0
            while made < self.scale.deliveries:
                entry = self.rng.choice(events)
                integration = self.rng.choice(integrations)
                created = entry.occurred_at + timedelta(milliseconds=self.rng.randint(5, 900))
                # One in five needs retries (a chain of up to four attempts; the last may fail).
                attempts = 1 if self.rng.random() < 0.8 else self.rng.randint(2, 4)
                attempts = min(attempts, self.scale.deliveries - made)
                chain = []
                for attempt in range(1, attempts + 1):
                    last = attempt == attempts
                    failed = not last or self.rng.random() < 0.3
                    if last and failed:
                        status = DeliveryStatus.FAILED
                    elif failed:
                        status = DeliveryStatus.RETRYING
                    else:
                        status = DeliveryStatus.SUCCEEDED
                    chain.append(
                        Delivery(
                            integration=integration,
                            contact_id=entry.contact_id,
                            contact_event=entry,
                            event=entry.event,
                            mode=DeliveryMode.BACKGROUND,
                            status=status,
                            attempt=attempt,
                            due_at=created,
                            request={"method": "POST", "url": integration.endpoint_url},
                            status_code=503 if failed else 200,
                            duration_ms=self.rng.randint(20, 900),
                            response_excerpt="" if failed else '{"ok": true}',
                            error="503 Service Unavailable" if failed else "",
                            created_at=created,
                            finished_at=created + timedelta(seconds=1),
                        )
                    )
                    created += timedelta(seconds=10 * 2**attempt)
                made += attempts
                yield chain

        count = 0
        source = chains()
        while batch := list(islice(source, BATCH_SIZE)):
            for position in range(max(len(chain) for chain in batch)):
                level = []
                for chain in batch:
                    if len(chain) > position:
                        if position:
                            # Inserted with the level before, so its key is known.
                            chain[position].previous_id = chain[position - 1].pk
                        level.append(chain[position])
                Delivery.objects.bulk_create(level, batch_size=BATCH_SIZE)
                count += len(level)
        self.report(f"{count} deliveries")
        return count


def demo_dataset_build(
    *, scale: str, report: Callable[[str], None], seed: int = 14
) -> dict[str, int]:
    """Insert a demo dataset of the named scale in one transaction: all of it or nothing."""
    builder = DemoBuilder(scale=SCALES[scale], tag=secrets.token_hex(2), seed=seed, report=report)
    with transaction.atomic():
        return builder.build()
