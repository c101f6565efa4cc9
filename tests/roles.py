"""Users holding one role, and a row of every kind for the role matrices to ask about."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.test import Client

from configurator.roles import ADMINISTRATOR, INTEGRATION_DEVELOPER, ROLES, SUPERVISOR, VIEWER
from conversations.models import Agent, Contact
from integrations.models import Delivery, Integration
from messaging.models import Callback, MessagingService
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_integration
from tests.sinch import fixture_body, post_callback

# The matrices' columns: one letter per role.
ROLE_OF = {"A": ADMINISTRATOR, "I": INTEGRATION_DEVELOPER, "S": SUPERVISOR, "V": VIEWER}
# The customer's identity and what they wrote, as the rows below carry them.
PHONE = "46701234567"
CUSTOMER_TEXT = "My card number is 4111"
CAD_VALUE = "loyalty-gold-7788"


def answers(ok: int, roles: str, *, others: int = 403) -> dict[str, int]:
    """A matrix row: `ok` for the roles named by their letters, `others` for the rest."""
    return {letter: ok if letter in roles else others for letter in ROLE_OF}


def role_user(letter: str) -> User:
    """A staff user whose only rights come from one role's group."""
    role = ROLE_OF[letter]
    assert role in ROLES
    user = User.objects.filter(username=f"role-{letter.lower()}").first()
    if user is None:
        user = User.objects.create_user(
            f"role-{letter.lower()}", password="role-pass-123", is_staff=True
        )
        user.groups.add(Group.objects.get(name=role))
    return user


def role_browser(letter: str) -> Client:
    client = Client()
    client.force_login(role_user(letter))
    return client


def one_of_each(service: MessagingService, queue: Queue) -> dict[str, Model]:
    """A row of every kind an admin page or an endpoint shows, carrying personal data."""
    make_integration(
        "Listener",
        queues=[queue],
        events=["queued"],
        authentications={"api-key": "integration-secret-1"},
        configuration={
            "request": {
                "method": "POST",
                "headers": {"x-api-key": "{authentications.api-key}"},
                "body": {"who": "{contact.source}"},
            }
        },
    )
    post_callback(Client(), service.pk, fixture_body("message_inbound"))
    make_agent("Anna", queues=[queue])
    contact = make_contact(queue, identity=PHONE, text=CUSTOMER_TEXT)
    Contact.objects.filter(pk=contact.pk).update(cad={"loyalty": CAD_VALUE})
    found: dict[str, Any] = {
        "service": service,
        "callback": Callback.objects.get(),
        "queue": queue,
        "agent": Agent.objects.get(),
        "contact": Contact.objects.get(),
        "integration": Integration.objects.get(),
        "delivery": Delivery.objects.get(),
    }
    found["message"] = found["contact"].messages.get()
    found["event"] = found["contact"].events.order_by("id").first()
    return found
