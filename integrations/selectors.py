"""Reads of the integrations app: lists, the references checks need, and list warnings."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet

from conversations.choices import Event
from conversations.models import Agent
from integrations.choices import CONVERSATION_TYPE_LABELS, ECHO_ENDPOINT
from integrations.delivery import Secrets
from integrations.firing import Scope, firing_points, scopes_of
from integrations.models import (
    Delivery,
    Integration,
    IntegrationAuthentication,
    IntegrationTrigger,
    IntegrationVersion,
    firing,
)
from integrations.set_keys import References
from integrations.transport import endpoint_refusal
from integrations.validation import (
    IntegrationCheck,
    IntegrationInput,
    clean_integration,
)
from queues.models import Queue, QueueAddress
from queues.validation import parse_chat_address


def integration_list() -> QuerySet[Integration]:
    """Integrations with their queues and authentication entries, in ordinal order."""
    return Integration.objects.prefetch_related(
        Prefetch("queues", queryset=Queue.objects.order_by("name")),
        Prefetch(
            "authentications",
            queryset=IntegrationAuthentication.objects.order_by("authentication_id"),
        ),
    )


@dataclass
class DatabaseReferences:
    """`validation.References` answered from the database, each answer asked once."""

    _queues: dict[str, str | None] = field(default_factory=dict)
    _addresses: dict[str, str | None] = field(default_factory=dict)
    _agents: dict[str, bool] = field(default_factory=dict)

    def queue_channel_type(self, queue_id: str) -> str | None:
        if queue_id not in self._queues:
            found = None
            if queue_id.isdigit():
                found = (
                    Queue.objects.filter(pk=int(queue_id))
                    .values_list("channel_type", flat=True)
                    .first()
                )
            self._queues[queue_id] = found
        return self._queues[queue_id]

    def queue_channel_type_by_address(self, address: str) -> str | None:
        if address not in self._addresses:
            self._addresses[address] = (
                QueueAddress.objects.filter(address__in=_address_forms(address))
                .values_list("queue__channel_type", flat=True)
                .first()
            )
        return self._addresses[address]

    def agent_exists(self, identifier: str) -> bool:
        if identifier not in self._agents:
            self._agents[identifier] = Agent.objects.filter(_agent_match(identifier)).exists()
        return self._agents[identifier]


@dataclass
class _ReferencesAsked:
    """References that only note what the checks ask (the answers given are thrown away)."""

    queue_ids: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)
    agents: set[str] = field(default_factory=set)

    def queue_channel_type(self, queue_id: str) -> str | None:
        self.queue_ids.add(queue_id)
        return None

    def queue_channel_type_by_address(self, address: str) -> str | None:
        self.addresses.add(address)
        return None

    def agent_exists(self, identifier: str) -> bool:
        self.agents.add(identifier)
        return False


def integration_list_references(integrations: Iterable[Integration]) -> DatabaseReferences:
    """The queues and agents every listed integration's `set` names, looked up at once.

    The API's list and the admin's changelist check each row again (`integration_problems`);
    with rows naming different queues or agents, asking the database name by name would cost
    one query per row. The checks are run once to learn what they ask (so that what a `set`
    names is known only to the validation), and the answers come from at most three queries.
    """
    asked = _ReferencesAsked()
    for integration in integrations:
        stored_check(integration, references=asked)
    references = DatabaseReferences()
    digits = {q for q in asked.queue_ids if q.isdigit()}
    found = (
        dict(
            Queue.objects.filter(pk__in=[int(q) for q in digits]).values_list("pk", "channel_type")
        )
        if digits
        else {}
    )
    for queue_id in asked.queue_ids:
        references._queues[queue_id] = found.get(int(queue_id)) if queue_id in digits else None
    if asked.addresses:
        forms = {address: sorted(_address_forms(address)) for address in asked.addresses}
        by_address = dict(
            QueueAddress.objects.filter(
                address__in={form for each in forms.values() for form in each}
            ).values_list("address", "queue__channel_type")
        )
        for address, candidates in forms.items():
            references._addresses[address] = next(
                (by_address[form] for form in candidates if form in by_address), None
            )
    if asked.agents:
        # How `_agent_match` names an agent, for every identifier at once.
        pks = {int(i) for i in asked.agents if i.isdigit()}
        names = list(asked.agents)
        match = Q(number__in=names) | Q(chat_address__in=names) | Q(email__in=names)
        rows = Agent.objects.filter(match | Q(pk__in=pks)).values_list(
            "pk", "number", "chat_address", "email"
        )
        known_pks: set[int] = set()
        known: set[str] = set()
        for pk, number, chat_address, email in rows:
            known_pks.add(pk)
            known |= {number, chat_address, email}
        for identifier in asked.agents:
            references._agents[identifier] = identifier in known or (
                identifier.isdigit() and int(identifier) in known_pks
            )
    return references


def _address_forms(address: str) -> set[str]:
    """A queue address as written, and in its long form when it is a short chat address."""
    forms = {address}
    with contextlib.suppress(ValidationError):
        forms.add(parse_chat_address(address)[0].address)
    return forms


def _agent_match(identifier: str) -> Q:
    """An agent by number, chat address, e-mail, or (digits) ID: how `set` names agents."""
    match = Q(number=identifier) | Q(chat_address=identifier) | Q(email=identifier)
    if identifier.isdigit():
        match |= Q(pk=int(identifier))
    return match


def integration_problems(
    integration: Integration, *, references: DatabaseReferences | None = None
) -> list[str]:
    """What is wrong with a stored integration now (a copy's missing authentications, say)."""
    check = stored_check(integration, references=references or DatabaseReferences())
    return [
        message if name == "configuration" else f"{_field_label(name)}: {message}"
        for name, messages in check.errors.items()
        for message in messages
    ]


def stored_check(integration: Integration, *, references: References) -> IntegrationCheck:
    """The save-time checks, run again on what is stored."""
    return clean_integration(
        IntegrationInput.of(
            partial(getattr, integration),
            queues=integration.queues.all(),
            authentication_ids=[a.authentication_id for a in integration.authentications.all()],
        ),
        references=references,
    )


def _field_label(name: str) -> str:
    return str(getattr(Integration._meta.get_field(name), "verbose_name", name)).capitalize()


def integration_scopes(integration: Integration) -> list[Scope]:
    """The integration's scopes (its queues, prefetched, then direct chats and calls)."""
    return scopes_of(
        queues=[(q.pk, q.channel_type, q.name) for q in integration.queues.all()],
        direct_chats=integration.direct_chats,
        direct_calls=integration.direct_calls,
    )


def firing_warnings(integrations: Iterable[Integration]) -> dict[int, list[str]]:
    """Per integration, where more integrations would fire on one event than Sinch allows.

    Only the first INTEGRATIONS_MAX_PER_EVENT (by ordinal) fire on the same event of the same
    conversation; the others are named, so that an administrator sees it before it happens.
    """
    limit: int = settings.INTEGRATIONS_MAX_PER_EVENT
    groups: dict[tuple[str, str, str, str], list[Integration]] = defaultdict(list)
    for integration in integrations:
        if not integration.enabled:
            # Disabled ones do not fire. A paused one counts: the warning is about the
            # configuration, and Resume would bring it back among the others.
            continue
        points = firing_points(
            channel_type=integration.channel_type,
            direction=integration.direction,
            events=integration.events,
            scopes=integration_scopes(integration),
        )
        for point in points:
            key = (point.scope.label, point.event, point.channel_type, point.direction)
            groups[key].append(integration)
    warnings: dict[int, list[str]] = defaultdict(list)
    for (scope, event, channel, direction), members in sorted(groups.items()):
        if len(members) <= limit:
            continue
        members.sort(key=lambda i: (i.ordinal, i.name))
        label = CONVERSATION_TYPE_LABELS[(channel, direction)]
        for position, integration in enumerate(members):
            fate = "fires" if position < limit else "does not fire"
            warnings[integration.pk].append(
                f"{Event(event).label}, {scope} ({label}): {len(members)} integrations apply, "
                f"only the first {limit} by ordinal fire; this one {fate}."
            )
    return dict(warnings)


def save_warnings(integration: Integration) -> list[str]:
    """What a saved integration will not do as it may seem (shown after a save, not blocking).

    Its endpoint on an address integrations may not call (checked again on every call), and
    each event and scope where it is one of more integrations than fire (`firing_warnings`).
    """
    warnings: list[str] = []
    if integration.endpoint_url != ECHO_ENDPOINT:
        refusal = endpoint_refusal(integration.endpoint_url)
        if refusal:
            warnings.append(
                f"Endpoint URL: {refusal}. Its calls will fail until the address is public or "
                "allowed."
            )
    warnings.extend(crowded_event_warnings(integration))
    return warnings


def crowded_event_warnings(integration: Integration) -> list[str]:
    """The list's warnings of `integration`, among the integrations sharing a scope with it."""
    if not integration.enabled:
        return []
    queue_ids = [q.pk for q in integration.queues.all()]
    scope = Q(queues__in=queue_ids) if queue_ids else Q(pk__in=[])
    if integration.direct_chats:
        scope |= Q(direct_chats=True)
    if integration.direct_calls:
        scope |= Q(direct_calls=True)
    others = integration_list().filter(scope, enabled=True).exclude(pk=integration.pk).distinct()
    return firing_warnings([integration, *others]).get(integration.pk, [])


def integrations_for_event(
    *, event: str, channel_type: str, direction: str, queue_id: int | None
) -> list[Integration]:
    """Integrations that fire on this event of this conversation, by ordinal (one indexed query).

    `queue_id` None means a direct conversation. Disabled and paused integrations do not fire
    (`models.firing`, read on the joined integration row: the trigger rows say only where it would).
    """
    scope = Q(queue_id=queue_id) if queue_id is not None else Q(queue__isnull=True)
    rows = (
        IntegrationTrigger.objects.filter(scope, event=event, channel_type=channel_type)
        .filter(firing("integration__"), direction=direction)
        .select_related("integration")
        .order_by("integration__ordinal", "integration__name", "integration_id")
    )
    return [row.integration for row in rows]


def integration_secrets(integration_ids: Iterable[int]) -> dict[int, Secrets]:
    """Each integration's decrypted authentication entries (one query)."""
    found: dict[int, dict[str, str]] = {pk: {} for pk in integration_ids}
    rows = IntegrationAuthentication.objects.filter(integration_id__in=list(found))
    for row in rows:
        if row.secret is not None:
            found[row.integration_id][row.authentication_id] = row.secret.reveal()
    return {pk: Secrets(entries) for pk, entries in found.items()}


@dataclass
class DatabaseTargets:
    """`set_keys.Targets` from the database: what a `set` names must exist and fit."""

    def queue(self, *, id: str | None, address: str | None, channel_type: str) -> Queue:
        queue: Queue | None
        if id is not None:
            queue = Queue.objects.filter(pk=int(id)).first() if id.isdigit() else None
            if queue is None:
                raise ValueError(f"no queue has the ID “{id}”")
        else:
            found = (
                QueueAddress.objects.filter(address__in=_address_forms(address or ""))
                .select_related("queue")
                .first()
            )
            if found is None:
                raise ValueError(f"no queue has the address “{address}”")
            queue = found.queue
        if queue.channel_type != channel_type:
            raise ValueError(
                f"queue “{queue.name}” carries {queue.channel_type} conversations, "
                f"not {channel_type}"
            )
        return queue

    def agent(self, identifier: str) -> Agent:
        agents = list(Agent.objects.filter(_agent_match(identifier))[:2])
        if not agents:
            raise ValueError(f"no agent has the identifier “{identifier}”")
        if len(agents) > 1:
            raise ValueError(f"several agents have the identifier “{identifier}”")
        return agents[0]


def integration_versions(integration: Integration) -> QuerySet[IntegrationVersion]:
    """An integration's versions, newest first, without their snapshots (lists show a summary)."""
    return IntegrationVersion.objects.filter(integration=integration).defer("snapshot")


def integration_versions_by_number(
    integration: Integration, numbers: Iterable[int]
) -> dict[int, IntegrationVersion]:
    """The versions of these numbers, with their snapshots, by number (one query)."""
    rows = IntegrationVersion.objects.filter(integration=integration, number__in=list(numbers))
    return {version.number: version for version in rows}


def delivery_list() -> QuerySet[Delivery]:
    """Deliveries with what their list shows (integration, contact event)."""
    return Delivery.objects.select_related("integration")
