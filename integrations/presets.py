""" "Start from" configurations for the four documented uses of event-driven integrations.

Each preset is a complete, valid starting point: the events it suits, the authentication
entries its JSON refers to (added by the administrator, with their secrets), and the JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from conversations.choices import Event


@dataclass(frozen=True)
class Preset:
    """A documented use of integrations, ready to adapt."""

    key: str
    label: str
    description: str
    events: list[str]
    authentications: list[str]
    configuration: dict[str, Any]
    direction: str = "inbound"
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


_ALL_EVENTS = list(Event.values)
_SELECTED_FIELDS = {
    "Event name": "{event.name}",
    "Event date": "{event.datetime}",
    "Channel type": "{contact.channel_type}",
    "Channel subtype": "{contact.channel_sub_type}",
    "Direction": "{contact.direction}",
    "ID": "{contact.id}",
    "Monitoring/reporting ID": "{contact.guid}",
    "Creation timestamp": "{contact.created}",
    "Language": "{contact.language}",
    "Priority": "{contact.priority}",
    "Skills": "{contact.skills}",
    "Current queue": "{contact.queue}",
    "Current queue ID": "{contact.queue.id}",
    "Current queue address": "{contact.queue.address}",
    "Forwarding queue": "{contact.forwarding_queue}",
    "Forwarding queue ID": "{contact.forwarding_queue.id}",
    "Forwarding queue address": "{contact.forwarding_queue.address}",
    "Current agent": "{contact.agent}",
    "Current agent ID": "{contact.agent.id}",
    "Current agent number": "{contact.agent.number}",
    "Current agent chat address": "{contact.agent.chat_address}",
    "Preferred agent": "{contact.preferred_agent}",
    "Preferred agent ID": "{contact.preferred_agent.id}",
    "Preferred agent number": "{contact.preferred_agent.number}",
    "Preferred agent chat address": "{contact.preferred_agent.chat_address}",
    "Required agents": "{contact.required_agents}",
    "Transferring agent": "{contact.transferring_agent}",
    "Transferring agent ID": "{contact.transferring_agent.id}",
    "Transferring agent number": "{contact.transferring_agent.number}",
    "Transferring agent chat address": "{contact.transferring_agent.chat_address}",
    "Source": "{contact.source}",
    "Destination": "{contact.destination}",
    "External Destination": "{contact.external_destination}",
    "CAD": "{contact.cad}",
}

PRESETS: list[Preset] = [
    Preset(
        key="fetch-data",
        label="Fetch data from an external system and show it to the agent",
        description=(
            "Looks the customer up by the address they wrote from and saves the answer as "
            "attached data (CAD), which the agent sees with the conversation."
        ),
        events=[Event.RECEIVED, Event.TRANSFERRED, Event.FORWARDED],
        authentications=["basic:<username>"],
        configuration={
            "request": {
                "authentication": {"type": "basic"},
                "method": "GET",
                "headers": {"Accept": "application/json"},
                "params": {"phone": "{contact.source}"},
            },
            "response": {
                "save": {
                    "customer_data": {
                        "id": "{response.body.id}",
                        "firstname": "{response.body.properties.firstname}",
                        "lastname": "{response.body.properties.lastname}",
                    }
                }
            },
        },
    ),
    Preset(
        key="listen-all",
        label="Listen to conversation lifecycle events (all data)",
        description="Posts the event and the whole contact to a webhook on every event.",
        events=_ALL_EVENTS,
        direction="both",
        authentications=["basic:<username>", "api-key"],
        configuration={
            "request": {
                "authentication": {"type": "basic"},
                "method": "POST",
                "headers": {"x-api-key": "{authentications.api-key}"},
                "body": {"event": "{event}", "contact": "{contact}"},
            }
        },
    ),
    Preset(
        key="listen-selected",
        label="Listen to conversation lifecycle events (selected fields)",
        description="Posts chosen contact fields, each under a name of your own, on every event.",
        events=_ALL_EVENTS,
        direction="both",
        authentications=["basic:<username>"],
        configuration={
            "request": {
                "method": "POST",
                "authentication": {"type": "basic"},
                "body": _SELECTED_FIELDS,
            }
        },
    ),
    Preset(
        key="routing",
        label="Control the routing of conversations",
        description=(
            "Asks a routing service where a new conversation should go, before it is queued: "
            'it answers e.g. {"queue": {"id": 7}, "priority": "10"}. The call blocks for at '
            "most its timeout; on error the conversation goes on unchanged."
        ),
        events=[Event.RECEIVED],
        authentications=["api-key"],
        configuration={
            "request": {
                "method": "GET",
                "headers": {
                    "Accept": "application/json",
                    "x-api-key": "{authentications.api-key}",
                },
                "params": {"source": "{contact.source}", "channel": "{contact.channel_sub_type}"},
                "timeout": 3,
            },
            "response": {
                "set": {
                    "queue": {"id": "{response.body.queue.id}"},
                    "priority": "{response.body.priority}",
                }
            },
        },
    ),
    Preset(
        key="csat",
        label="Send the customer a satisfaction (CSAT) survey",
        description=(
            "When a conversation that reached an agent ends, asks a survey service to send "
            "the customer a survey on the channel they used."
        ),
        events=[Event.ENDED],
        authentications=["api-key"],
        configuration={
            "request": {
                "method": "POST",
                "headers": {"x-api-key": "{authentications.api-key}"},
                "condition": "has(contact.agent)",
                "body": {
                    "recipient": "{contact.source}",
                    "channel": "{contact.channel_sub_type}",
                    "conversation": "{contact.id}",
                    "agent": "{contact.agent.name}",
                    "queue": "{contact.queue.name}",
                    "language": "{contact.language}",
                    "message": "Thank you for contacting us. How did we do? Reply 1 to 5.",
                },
            }
        },
    ),
]
PRESETS_BY_KEY = {preset.key: preset for preset in PRESETS}
