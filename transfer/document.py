"""The configuration document: what an export writes and an import reads.

One JSON object `{"format": "configurator-config", "version": 1, "exported_at", "services",
"queues", "agents", "integrations"}`. Objects refer to each other by name, never by database
id, and every list is sorted (by name; agents by name and number), so that exporting the same
configuration twice gives the same document apart from `exported_at`. No secret is ever written:
authentication entries are listed by their IDs only.

`*_entry` turn a stored row into its part of the document; the import's plan compares these with
the document's parts, so export and plan cannot disagree on what a field is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from rest_framework import serializers

from configurator.names import names_folded
from conversations.models import Agent
from integrations.choices import IntegrationChannelType
from integrations.models import Integration, IntegrationAuthentication
from messaging.models import MessagingService, ServiceAuthentication
from queues.models import MAX_WAITING_TIME, Queue, QueueAddress

FORMAT = "configurator-config"
VERSION = 1
KINDS = ("services", "queues", "agents", "integrations")


# --- Stored rows as parts of the document ----------------------------------------------------


def service_entry(service: MessagingService) -> dict[str, Any]:
    """A messaging service: its connection and its entries' IDs and triggers, no secrets."""
    entries = sorted(
        service.authentications.all(), key=lambda a: (a.direction, a.authentication_id)
    )
    return {
        "name": service.name,
        "type": service.type,
        "service_connection": service.service_connection,
        "auth_method": service.auth_method,
        "enabled": service.enabled,
        "authentications": [
            {
                "direction": entry.direction,
                "authentication_id": entry.authentication_id,
                "triggers": sorted(entry.triggers or []),
            }
            for entry in entries
        ],
    }


def queue_entry(queue: Queue) -> dict[str, Any]:
    """A queue with its addresses; the overflow queue by name, the waiting time in seconds."""
    wait = queue.max_waiting_time
    return {
        "name": queue.name,
        "description": queue.description,
        "channel_type": queue.channel_type,
        "default_priority": queue.default_priority,
        "addresses": sorted(a.address for a in queue.addresses.all()),
        "sms_sender_id": queue.sms_sender_id,
        "max_waiting_time": None if wait is None else int(wait.total_seconds()),
        "overflow_queue": queue.overflow_queue.name if queue.overflow_queue else None,
    }


def agent_entry(agent: Agent) -> dict[str, Any]:
    """An agent with the queues they serve, by name."""
    return {
        "name": agent.name,
        "number": agent.number,
        "chat_address": agent.chat_address,
        "email": agent.email,
        "queues": sorted(q.name for q in agent.queues.all()),
    }


def integration_entry(
    integration: Integration, references: PortableReferences | None = None
) -> dict[str, Any]:
    """Every field an integration is saved with, queues by name, entries by ID without secrets.

    With `references` (the export), a `set` that names a queue or an agent by database ID names
    it portably instead (a queue address, an agent number); the import's plan compares what is
    stored as it is.
    """
    configuration = integration.configuration
    if references is not None:
        configuration = references.portable(integration.name, configuration)
    return {
        "name": integration.name,
        "description": integration.description,
        "channel_type": integration.channel_type,
        "endpoint_url": integration.endpoint_url,
        "ordinal": integration.ordinal,
        "direction": integration.direction,
        "events": list(integration.events),
        "direct_chats": integration.direct_chats,
        "direct_calls": integration.direct_calls,
        "queues": sorted(q.name for q in integration.queues.all()),
        "authentications": [
            {"authentication_id": a.authentication_id}
            for a in sorted(integration.authentications.all(), key=lambda a: a.authentication_id)
        ],
        "configuration": configuration,
        "enabled": integration.enabled,
    }


class ExportRefused(Exception):
    """The configuration names something by database ID that no other landscape can find."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(" ".join(messages))
        self.messages = messages


def set_of(configuration: Any) -> dict[str, Any] | None:
    """An integration configuration's `response.set`, None when it has none."""
    response = configuration.get("response") if isinstance(configuration, dict) else None
    found = response.get("set") if isinstance(response, dict) else None
    return found if isinstance(found, dict) else None


def _digits(value: Any) -> str | None:
    """A literal written as a database ID (digits only), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value.strip() if isinstance(value, str) and value.strip().isdigit() else None


def _agents_named(set_values: dict[str, Any]) -> list[Any]:
    listed: list[Any] = []
    if "preferredAgent" in set_values:
        listed.append(set_values["preferredAgent"])
    required = set_values.get("requiredAgents")
    if isinstance(required, dict):
        listed.extend(_required_listed(required.get("agents")) or [])
    return listed


def _required_listed(agents: Any) -> list[Any] | None:
    """`requiredAgents.agents` as a list: a list, or text of comma-separated identifiers."""
    if isinstance(agents, list):
        return agents
    if isinstance(agents, str):
        return [part.strip() for part in agents.split(",") if part.strip()]
    return None


class PortableReferences:
    """Queues and agents that `set`s name by database ID, found at once (two queries)."""

    def __init__(self, integrations: Iterable[Integration]) -> None:
        queue_ids: set[int] = set()
        agent_ids: set[str] = set()
        for integration in integrations:
            set_values = set_of(integration.configuration) or {}
            queue = set_values.get("queue")
            if isinstance(queue, dict) and (found := _digits(queue.get("id"))):
                queue_ids.add(int(found))
            agent_ids.update(d for d in map(_digits, _agents_named(set_values)) if d)
        self.addresses: dict[int, str] = {}
        for queue_id, address in (
            QueueAddress.objects.filter(queue_id__in=queue_ids)
            .order_by("address")
            .values_list("queue_id", "address")
        ):
            self.addresses.setdefault(queue_id, address)
        rows = (
            Agent.objects.filter(Q(pk__in=[int(i) for i in agent_ids]) | Q(number__in=agent_ids))
            if agent_ids
            else Agent.objects.none()
        )
        self.agents_by_id = {agent.pk: agent for agent in rows}
        self.numbers = {agent.number for agent in rows if agent.number}
        self.problems: list[str] = []

    def _agent(self, name: str, value: Any) -> Any:
        digits = _digits(value)
        if digits is None or digits in self.numbers:
            return value  # a number, a chat address, an e-mail or a placeholder: portable
        agent = self.agents_by_id.get(int(digits))
        portable = agent and (agent.number or agent.chat_address or agent.email)
        if not portable:
            self.problems.append(
                f"Integration “{name}” names agent {digits} by database ID; give that agent a "
                "number (or name the agent by number, chat address or e-mail in its response)."
            )
            return value
        return portable

    def portable(self, name: str, configuration: Any) -> Any:
        """The configuration with its `set` naming queues by address and agents by number."""
        set_values = set_of(configuration)
        if set_values is None:
            return configuration
        changed = dict(set_values)
        queue = set_values.get("queue")
        if isinstance(queue, dict) and (queue_id := _digits(queue.get("id"))):
            address = self.addresses.get(int(queue_id))
            if address is None:
                self.problems.append(
                    f"Integration “{name}” sets queue {queue_id} by database ID, and that queue "
                    "has no address to name it by in another landscape; set it by address."
                )
            else:
                changed["queue"] = {
                    **{k: v for k, v in queue.items() if k != "id"},
                    "address": address,
                }
        if "preferredAgent" in set_values:
            changed["preferredAgent"] = self._agent(name, set_values["preferredAgent"])
        required = set_values.get("requiredAgents")
        listed = _required_listed(required.get("agents")) if isinstance(required, dict) else None
        if isinstance(required, dict) and listed is not None:
            portable = [self._agent(name, value) for value in listed]
            if portable != listed:
                agents = required["agents"]
                changed["requiredAgents"] = {
                    **required,
                    "agents": portable
                    if isinstance(agents, list)
                    else ",".join(str(value) for value in portable),
                }
        if changed == set_values:
            return configuration
        return {**configuration, "response": {**configuration["response"], "set": changed}}


def object_keys(kind: str, entries: Sequence[Mapping[str, Any]]) -> list[Any]:
    """How each entry is known across landscapes, in order; two entries never share a key.

    Names are unique by the database's own folding (`configurator.names`), so they are
    compared by it. An agent is known by its number; agents without one may share name, chat
    address and e-mail, so they are counted within such a group, in an order that lines up
    entries that are alike (an export matched against what it was exported from is unchanged).
    """
    folded = names_folded(str(entry["name"]) for entry in entries)
    if kind != "agents":
        return [folded[str(entry["name"])] for entry in entries]
    keys: list[Any] = [None] * len(entries)
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, entry in enumerate(entries):
        number = entry.get("number") or ""
        if number:
            keys[index] = ("number", number)
        else:
            group: tuple[str, ...] = (
                "name",
                folded[str(entry["name"])],
                str(entry["chat_address"]),
                str(entry["email"]),
            )
            groups.setdefault(group, []).append(index)
    for same, indexes in groups.items():
        alike = sorted(indexes, key=lambda i: json.dumps(entries[i], sort_keys=True, default=str))
        for count, index in enumerate(alike):
            keys[index] = (*same, count)
    return keys


# --- Reading them, a fixed number of queries whatever the rows --------------------------------


def stored_services() -> QuerySet[MessagingService]:
    """Services with their entries (two queries)."""
    return MessagingService.objects.prefetch_related(
        Prefetch("authentications", queryset=ServiceAuthentication.objects.all())
    ).order_by("name", "pk")


def stored_queues() -> QuerySet[Queue]:
    """Queues with their addresses and overflow queue (two queries)."""
    return (
        Queue.objects.select_related("overflow_queue")
        .prefetch_related(Prefetch("addresses", queryset=QueueAddress.objects.all()))
        .order_by("name", "pk")
    )


def stored_agents() -> QuerySet[Agent]:
    """Agents with their queues (two queries)."""
    return Agent.objects.prefetch_related("queues").order_by("name", "number", "pk")


def stored_integrations() -> QuerySet[Integration]:
    """Integrations with their queues and entries (three queries)."""
    return Integration.objects.prefetch_related(
        "queues", Prefetch("authentications", queryset=IntegrationAuthentication.objects.all())
    ).order_by("name", "pk")


def config_export() -> dict[str, Any]:
    """The whole configuration as one document (no secrets), sorted for stable comparison.

    ExportRefused when an integration names a queue or agent by a database ID that has no
    portable name: imported elsewhere, it would route to whatever has that ID there.
    """
    integrations = list(stored_integrations())
    references = PortableReferences(integrations)
    entries = [integration_entry(i, references) for i in integrations]
    if references.problems:
        raise ExportRefused(references.problems)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(timespec="seconds"),
        "services": [service_entry(s) for s in stored_services()],
        "queues": [queue_entry(q) for q in stored_queues()],
        "agents": [agent_entry(a) for a in stored_agents()],
        "integrations": entries,
    }


def document_text(document: dict[str, Any]) -> str:
    """The document as a file holds it: two-space indent, UTF-8 as is, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- The document's shape, checked before anything is planned --------------------------------


class ServiceAuthenticationPart(serializers.Serializer[Any]):
    """An authentication entry of a messaging service: its ID, never its secret."""

    direction = serializers.CharField(max_length=8)
    authentication_id = serializers.CharField(max_length=200)
    triggers = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list
    )


class ServicePart(serializers.Serializer[Any]):
    """A messaging service in the document."""

    name = serializers.CharField(max_length=100)
    type = serializers.CharField(max_length=32, required=False, default="sinchconversation")
    service_connection = serializers.CharField(max_length=300)
    auth_method = serializers.CharField(max_length=8, required=False, default="oauth2")
    enabled = serializers.BooleanField(required=False, default=True)
    authentications = ServiceAuthenticationPart(many=True)


class QueuePart(serializers.Serializer[Any]):
    """A queue in the document."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    channel_type = serializers.CharField(max_length=8, required=False, default="chat")
    default_priority = serializers.IntegerField(required=False, default=100)
    addresses = serializers.ListField(child=serializers.CharField(max_length=200))
    sms_sender_id = serializers.CharField(
        max_length=20, required=False, allow_blank=True, default=""
    )
    max_waiting_time = serializers.IntegerField(
        min_value=1,
        max_value=int(MAX_WAITING_TIME.total_seconds()),
        required=False,
        allow_null=True,
        default=None,
        help_text="Seconds a conversation may wait before it overflows.",
    )
    overflow_queue = serializers.CharField(
        max_length=100, required=False, allow_null=True, default=None
    )


class AgentPart(serializers.Serializer[Any]):
    """An agent in the document."""

    name = serializers.CharField(max_length=100)
    number = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    chat_address = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    queues = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )


class IntegrationAuthenticationPart(serializers.Serializer[Any]):
    """An authentication entry of an integration: its ID, never its secret."""

    authentication_id = serializers.CharField(max_length=160)


class IntegrationPart(serializers.Serializer[Any]):
    """An integration in the document."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    channel_type = serializers.ChoiceField(choices=IntegrationChannelType.choices)
    endpoint_url = serializers.CharField(max_length=2000)
    ordinal = serializers.IntegerField(required=False, default=1)
    direction = serializers.CharField(max_length=8, required=False, default="inbound")
    events = serializers.ListField(
        child=serializers.CharField(max_length=16), required=False, default=list
    )
    direct_chats = serializers.BooleanField(required=False, default=False)
    direct_calls = serializers.BooleanField(required=False, default=False)
    queues = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )
    authentications = IntegrationAuthenticationPart(many=True, required=False, default=list)
    configuration = serializers.JSONField(required=False, default=dict)
    enabled = serializers.BooleanField(required=False, default=True)


class DocumentSerializer(serializers.Serializer[Any]):
    """A configuration document as `config_export` writes it (format and version checked)."""

    format = serializers.CharField(help_text=f"Always “{FORMAT}”.")
    version = serializers.IntegerField(help_text=f"The document's format version: {VERSION}.")
    exported_at = serializers.CharField(required=False, allow_blank=True)
    services = ServicePart(many=True, required=False, default=list)
    queues = QueuePart(many=True, required=False, default=list)
    agents = AgentPart(many=True, required=False, default=list)
    integrations = IntegrationPart(many=True, required=False, default=list)

    def validate_format(self, value: str) -> str:
        if value != FORMAT:
            raise serializers.ValidationError(
                f"“{value}” is not a configuration document: the format is “{FORMAT}”."
            )
        return value

    def validate_version(self, value: int) -> int:
        if value != VERSION:
            raise serializers.ValidationError(
                f"Version {value} is not supported: this Configurator reads version {VERSION}."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        for kind in KINDS:
            seen: set[Any] = set()
            for part, key in zip(attrs[kind], object_keys(kind, attrs[kind]), strict=True):
                if key in seen:
                    errors.setdefault(kind, []).append(
                        f"“{part['name']}” is in the document twice."
                    )
                seen.add(key)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class SecretsSerializer(serializers.Serializer[Any]):
    """Secrets the document leaves out: {object name: {authentication ID: secret}}; write-only."""

    services = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(trim_whitespace=False)),
        required=False,
        default=dict,
    )
    integrations = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(trim_whitespace=False)),
        required=False,
        default=dict,
    )
