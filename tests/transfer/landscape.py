"""A small but complete landscape to export and import, and its secrets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conversations.models import Agent
from integrations.models import Integration
from messaging.models import MessagingService
from queues.models import Queue
from tests.factories import (
    inbound,
    make_agent,
    make_integration,
    make_queue,
    make_service,
    outbound,
)
from tests.sinch import WEBHOOK_SECRET

EU_PROJECT = "e2df3a34-a71b-4448-9db5-a8d2baad28e4"
EU_APP = "01E4556565565ERKYO"
EU_APP_2 = "01E4556565565ERKYP"
KEY_ID = "3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11"
ACCESS_SECRET = "access-key-secret-EU"
INTEGRATION_SECRET = "crm-password-42"


def build_landscape() -> None:
    """Two services, three queues (one overflowing), two agents, two integrations."""
    make_service(
        name="Sinch EU",
        authentications=[
            outbound(EU_APP, key_id=KEY_ID, secret=ACCESS_SECRET),
            outbound(EU_APP_2, key_id="second-key", secret=ACCESS_SECRET + "2"),
            inbound(),
        ],
    )
    make_service(
        name="Sinch BR",
        service_connection="https://br.conversation.api.sinch.com/v1/projects/br-project/messages:send",
        app_id="01BRAPP000000000000000000A",
    )
    spare = make_queue("Spare", [f"{EU_APP_2}@telegram"])
    sales = make_queue(
        "Sales",
        [f"{EU_APP}@whatsapp", f"{EU_APP}@viber-bot"],
        description="Sales chats",
        default_priority=50,
        max_waiting_time=timedelta(minutes=5),
        overflow_queue=spare,
    )
    support = make_queue("Support", [f"{EU_APP_2}@whatsapp"])
    make_agent("Ann", queues=[sales, support], number="1001", email="ann@example.com")
    make_agent("Bob", queues=[support], number="")
    make_integration(
        "CRM sync",
        queues=[sales],
        authentications={"basic:crm": INTEGRATION_SECRET},
        events=["queued", "ended"],
        configuration={
            "request": {
                "method": "POST",
                "authentication": {"type": "basic"},
                "body": {"e": "{event}"},
            }
        },
    )
    make_integration(
        "Echo",
        endpoint_url="edi://echo",
        ordinal=2,
        direct_chats=True,
        configuration={"request": {"method": "POST"}},
    )


def landscape_secrets() -> dict[str, Any]:
    """The secrets the document leaves out, keyed by object name and authentication ID."""
    return {
        "services": {
            "Sinch EU": {
                f"{KEY_ID}@{EU_APP}": ACCESS_SECRET,
                f"second-key@{EU_APP_2}": ACCESS_SECRET + "2",
                "webhook": WEBHOOK_SECRET,
            },
            "Sinch BR": {
                f"{KEY_ID}@01BRAPP000000000000000000A": "access-key-secret",
                "webhook": WEBHOOK_SECRET,
            },
        },
        "integrations": {"CRM sync": {"basic:crm": INTEGRATION_SECRET}},
    }


def wipe() -> None:
    """An empty landscape, as a new database would be."""
    Integration.objects.all().delete()
    Agent.objects.all().delete()
    Queue.objects.update(overflow_queue=None)
    Queue.objects.all().delete()
    MessagingService.objects.all().delete()


def without_time(document: dict[str, Any]) -> dict[str, Any]:
    """The document apart from when it was exported."""
    return {key: value for key, value in document.items() if key != "exported_at"}
