"""Rows that differ in their relations, for query budgets that compare N rows with 2N.

Each row made names other queues, agents, services and contacts than the rows before it (as
NetBox's query-count tests do), so that a query made per row shows as a difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from conversations import services as conversation_services
from conversations.models import Agent, Contact
from integrations.models import Integration
from messaging.models import MessagingService
from queues.models import Queue
from tests.factories import (
    inbound,
    make_agent,
    make_contact,
    make_integration,
    make_queue,
    make_service,
    outbound,
)


def _app(i: int) -> str:
    """A distinct Sinch app ID per row."""
    return f"01E4556565565ER{i:03d}"


@dataclass
class Rows:
    """What the lists are built from; each `add_*` adds rows unlike the ones before."""

    made: int = 0
    services: list[MessagingService] = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)

    def service(self) -> MessagingService:
        i = self.made = self.made + 1
        entries = [outbound(_app(i)), inbound()]
        if i % 2:
            entries.insert(1, outbound(_app(500 + i)))
        made = make_service(name=f"Sinch {i}", authentications=entries)
        self.services.append(made)
        return made

    def queue(self) -> Queue:
        service = self.service()
        app = service.authentications.filter(direction="outbound").values_list("app_id", flat=True)[
            0
        ]
        addresses = [f"{app}@whatsapp"] + ([f"{app}@telegram"] if len(self.queues) % 2 else [])
        overflow = self.queues[-1] if self.queues and len(self.queues) % 2 else None
        made = make_queue(
            f"Queue {self.made}",
            addresses,
            overflow_queue=overflow,
            max_waiting_time=timedelta(minutes=5) if overflow else None,
        )
        self.queues.append(made)
        return made

    def agent(self) -> Agent:
        queues = [self.queue()] + (self.queues[:1] if len(self.agents) % 2 else [])
        made = make_agent(f"Agent {self.made}", queues=queues, email=f"a{self.made}@example.com")
        self.agents.append(made)
        return made

    def contact(self) -> Contact:
        agent = self.agent()
        made = make_contact(
            agent.queues.order_by("-pk")[0], conversation_id=f"01CONVERSATION{self.made:012d}"
        )
        if len(self.contacts) % 2:
            made = conversation_services.contact_allocate(contact=made, agent=agent)
            made.required_agents.add(*self.agents[:2])
            Contact.objects.filter(pk=made.pk).update(preferred_agent=self.agents[0])
        self.contacts.append(made)
        return made

    def routing_integration(self) -> Integration:
        """An integration whose `set` names a queue (by ID or address) and agents of its own."""
        contact = self.contact()
        queue, agent = contact.queue, self.agents[-1]
        assert queue is not None
        named: dict[str, Any] = (
            {"id": str(queue.pk)}
            if self.made % 2
            else {"address": queue.addresses.values_list("address", flat=True)[0]}
        )
        return make_integration(
            f"Router {self.made}",
            queues=[queue],
            events=["received"],
            authentications={f"basic:user{self.made}": "s3cret-value"},
            configuration={
                "request": {"method": "POST", "authentication": {"type": "basic"}},
                "response": {
                    "set": {
                        "queue": named,
                        "preferredAgent": agent.number,
                        "requiredAgents": {"agents": [agent.email, str(self.agents[0].pk)]},
                    }
                },
            },
        )
