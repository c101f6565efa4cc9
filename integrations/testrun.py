"""Test runs: what an integration would do on an event for a contact, step by step.

Dry runs render the request; live runs also send it and read the answer. Either way `set` and
`save` are only described, never applied, and no delivery is recorded: the administrator sees
each step (matched or why not, condition, request, response, changes) on the page or in the API.
A run with a real contact shows that contact's data, so it needs the permission to view
contacts; runs with a sample contact do not. The sample is of a conversation type the
integration is for (`sample_kinds`: chats or calls, in or out, by its channel type and
direction), chosen by the administrator where there are several: an outbound sample has the
events chats out produce, a phone sample is how a call integration is tried (no call ever
comes from the Conversation API).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from configurator import audit
from configurator.choices import AuditOperation
from conversations.choices import ChannelType, Direction, Event
from conversations.models import Contact
from conversations.permissions import can_view_personal_data
from conversations.snapshot import contact_snapshot, iso
from integrations.choices import CONVERSATION_TYPE_LABELS, DeliveryStatus, conversation_types
from integrations.delivery import execute
from integrations.firing import misses
from integrations.models import Integration
from integrations.rendering import RenderContext
from integrations.selectors import (
    DatabaseTargets,
    integration_scopes,
    integration_secrets,
    integrations_for_event,
)
from integrations.set_keys import set_describe

SAMPLE_CONTACT_ID = "SAMPLE0000000000000000000000000"


@dataclass
class Step:
    """One step of a test run: what was checked, how it came out, and the data to read."""

    name: str
    outcome: str  # ok | skipped | failed | info
    detail: str
    data: Any = None

    @property
    def data_json(self) -> str:
        """The step's data as indented JSON, for the admin page."""
        return json.dumps(self.data, indent=2, ensure_ascii=False, default=str)


@dataclass
class TestRun:
    """The whole run, ready for a template or JSON."""

    integration: int
    event: str
    contact: str
    channel_type: str
    direction: str
    live: bool
    steps: list[Step] = field(default_factory=list)

    def add(self, name: str, outcome: str, detail: str, data: Any = None) -> None:
        self.steps.append(Step(name, outcome, detail, data))

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# The customer of a sample contact, by channel type (source is the customer's identity in both
# directions), and the agent who started an outbound one.
SAMPLE_CUSTOMERS: dict[str, str] = {
    ChannelType.CHAT: "46700000000",
    ChannelType.PHONE: "+46700000000",
    ChannelType.EMAIL: "customer@example.com",
}
SAMPLE_AGENT: dict[str, Any] = {
    "id": 0,
    "number": "2001",
    "chat_address": "sample.agent@example.com",
    "name": "Sample agent",
}


def sample_kinds(integration: Integration) -> list[tuple[str, str]]:
    """The (channel type, direction) samples a test run offers: what the integration is for."""
    return conversation_types(integration.channel_type, integration.direction)


def sample_kind_label(kind: tuple[str, str]) -> str:
    """ "Chats out (outbound)": how a sample kind reads in a form."""
    return f"{CONVERSATION_TYPE_LABELS.get(kind, ' '.join(kind)).capitalize()} ({kind[1]})"


def sample_kind(
    integration: Integration, *, channel_type: str = "", direction: str = ""
) -> tuple[str, str]:
    """The sample contact's conversation type: the one asked for, else (by the integration's
    direction) inbound where it can be, in the channel type of its first queue.

    Asking for a type the integration is not for raises ValidationError by field.
    """
    kinds = sample_kinds(integration)
    if channel_type and not any(k[0] == channel_type for k in kinds):
        raise ValidationError({"channel_type": _not_offered(integration, kinds)})
    chosen = [
        k
        for k in kinds
        if (not channel_type or k[0] == channel_type) and (not direction or k[1] == direction)
    ]
    if direction and not chosen:
        raise ValidationError({"direction": _not_offered(integration, kinds)})
    first_queue = next(iter(integration.queues.all()), None)
    channel = str(first_queue.channel_type) if first_queue else ""
    if not chosen:  # the integration is for no conversation type at all (e.g. email outbound)
        return (channel or str(ChannelType.CHAT), str(Direction.INBOUND))
    chosen.sort(key=lambda k: (k[0] != channel, k[1] != Direction.INBOUND))
    return chosen[0]


def _not_offered(integration: Integration, kinds: list[tuple[str, str]]) -> str:
    offered = ", ".join(CONVERSATION_TYPE_LABELS[k] for k in kinds) or "no conversations"
    return str(
        _("“%(name)s” is for %(offered)s: test with a sample of one of these.")
        % {"name": integration.name, "offered": offered}
    )


def sample_contact(
    integration: Integration,
    *,
    kind: tuple[str, str] | None = None,
    event: str = Event.QUEUED,
) -> dict[str, Any]:
    """A made-up conversation of `kind` (default: `sample_kind`) right after `event`, in the
    integration's first queue of that channel type (direct when it has none).

    An outbound sample was started by an agent (Sample agent) to the customer; a phone sample's
    customer is a number. Calls never come from Sinch (docs/integrations.md): samples are how
    call integrations are tried.
    """
    channel, direction = kind or sample_kind(integration)
    queue = next((q for q in integration.queues.all() if q.channel_type == channel), None)
    address = next(iter(queue.addresses.all()), None) if queue else None
    return {
        "id": SAMPLE_CONTACT_ID,
        "guid": SAMPLE_CONTACT_ID,
        "channel_type": str(channel),
        "channel_sub_type": "whatsapp" if channel == ChannelType.CHAT else None,
        "direction": str(direction),
        "created": iso(timezone.now()),
        "language": "EN",
        "priority": 100,
        "skills": None,
        "queue": (
            {"id": queue.pk, "address": address.address if address else "", "name": queue.name}
            if queue
            else None
        ),
        "forwarding_queue": None,
        "agent": dict(SAMPLE_AGENT) if direction == Direction.OUTBOUND else None,
        "preferred_agent": None,
        "required_agents": None,
        "required_agents_expiry": None,
        "transferring_agent": None,
        "source": SAMPLE_CUSTOMERS.get(channel, SAMPLE_CUSTOMERS[ChannelType.CHAT]),
        "destination": address.address if address else "",
        "external_destination": None,
        "cad": {},
        "state": str(event),
        "simulated": False,
        "sinch_contact_id": None,
        "sinch_conversation_id": None,
    }


CONTACT_DATA_REFUSED = _(
    "Testing with a real contact shows its data, which needs the permission to view "
    "customers' personal data; "
    "leave the contact empty to test with a sample contact."
)


def test_run_contact_check(*, user: Any) -> None:
    """Raise PermissionDenied unless `user` may run a test with a real contact."""
    if not can_view_personal_data(user):
        raise PermissionDenied(str(CONTACT_DATA_REFUSED))


def integration_test_run(
    *,
    integration: Integration,
    event: str,
    contact: Contact | None,
    live: bool,
    user: Any,
    sample: tuple[str, str] | None = None,
) -> TestRun:
    """Run the integration for `event` and `contact` (or a sample of `sample`'s kind) without
    changing anything.

    `user` is who asks: a real contact needs the permission to view customers' personal data
    (PermissionDenied). A live run calls the endpoint, so the audit trail records it (a dry run
    sends nothing).
    """
    if contact is not None:
        test_run_contact_check(user=user)
        data = contact_snapshot(contact)
    else:
        data = sample_contact(integration, kind=sample, event=event)
    run = TestRun(
        integration.pk,
        event,
        str(data["id"]),
        str(data["channel_type"]),
        str(data["direction"]),
        live,
    )
    _run(run, integration, event, data)
    if live:
        last = run.steps[-1] if run.steps else None
        audit.record(
            operation=AuditOperation.TEST_RUN,
            instance=integration,
            detail={
                "event": event,
                "contact": run.contact,
                "outcome": f"{last.name}: {last.outcome}" if last else "",
            },
        )
    return run


def _run(run: TestRun, integration: Integration, event: str, data: dict[str, Any]) -> None:
    """The steps of a test run, added to `run`."""
    _match(run, integration, event, data)
    context = RenderContext(
        event={"name": event, "datetime": iso(timezone.now()), "id": "test"}, contact=data
    )
    execution = execute(
        configuration=integration.configuration,
        endpoint_url=integration.endpoint_url,
        context=context,
        secrets=integration_secrets([integration.pk])[integration.pk],
        targets=DatabaseTargets(),
        channel_type=str(data.get("channel_type") or "chat"),
        echo_data=data,
        live=run.live,
        integration_id=integration.pk,
    )
    condition = (integration.configuration.get("request") or {}).get("condition")
    if condition:
        if execution.status == DeliveryStatus.SKIPPED:
            run.add("condition", "skipped", execution.error)
            return
        if execution.request is None:
            run.add("condition", "failed", execution.error)
            return
        run.add("condition", "ok", f"true: {condition}")
    run.add("request", "ok" if execution.request else "failed", _request_line(execution.request))
    run.steps[-1].data = execution.request
    if not run.live:
        run.add("response", "info", "dry run: nothing was sent")
        return
    if execution.response is None:
        run.add("response", "failed", execution.error)
        return
    answered = f"answered {execution.status_code} in {execution.duration_ms} ms"
    if execution.succeeded:
        run.add("response", "ok", answered, execution.response)
    else:
        run.add("response", "failed", f"{answered}: {execution.error}", execution.response)
        return
    changes = _changes(execution.set_values, execution.save_values)
    run.add(
        "changes",
        "ok" if changes else "info",
        "would change: " + ", ".join(changes) if changes else "the answer changes nothing",
        {"set": set_describe(execution.set_values), "save": execution.save_values},
    )


def _match(run: TestRun, integration: Integration, event: str, data: dict[str, Any]) -> None:
    """Whether the integration would fire on this event of this conversation, and if not why."""
    kind = (str(data.get("channel_type")), str(data.get("direction")))
    queue = data.get("queue") or {}
    reasons = []
    if not integration.enabled:
        reasons.append("it is disabled")
    if integration.paused_at is not None:
        reasons.append(
            f"it is paused: {integration.paused_reason}"
            if integration.paused_reason
            else "it is paused"
        )
    reasons += misses(
        channel_type=integration.channel_type,
        direction=integration.direction,
        events=integration.events,
        scopes=integration_scopes(integration),
        event=event,
        kind=kind,
        queue_id=queue.get("id"),
        queue_name=str(queue.get("name") or ""),
    )
    if reasons:
        run.add("match", "failed", "would not fire: " + "; ".join(reasons))
        return
    firing = integrations_for_event(
        event=event, channel_type=kind[0], direction=kind[1], queue_id=queue.get("id")
    )
    ids = [i.pk for i in firing]
    limit: int = settings.INTEGRATIONS_MAX_PER_EVENT
    if integration.pk not in ids:
        # Its configuration says it fires here, yet the trigger table does not hold it: the
        # table is rebuilt on save, so this means a save that did not finish.
        run.add("match", "failed", "would not fire: its trigger rows are missing; save it again")
        return
    position = ids.index(integration.pk) + 1
    if position > limit:
        run.add(
            "match",
            "failed",
            f"matches, but is number {position} by ordinal; only the first {limit} fire",
        )
    else:
        run.add("match", "ok", f"fires (number {position} of {len(ids)} by ordinal)")


def _request_line(request: dict[str, Any] | None) -> str:
    if not request:
        return "no request"
    return f"{request['method']} {request['url']}"


def _changes(set_values: dict[str, Any], save_values: dict[str, Any]) -> list[str]:
    described = [f"{key} → {value}" for key, value in set_describe(set_values).items()]
    described += [f"attached data {key}" for key in save_values]
    return described
