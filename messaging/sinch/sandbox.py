"""The local sandbox that stands in for Sinch for simulated conversations.

A reply to a simulated contact (messaging.simulator) must not reach Sinch: there is no customer,
and the identity may even be a real one. The sandbox gateway, registered ahead of the Sinch
gateway, accepts such replies with a message id of its own and no network call. Once the reply
is stored, it answers as a channel would: a delivery report DELIVERED, then READ, each built as
the Conversation API sends it, signed with the service's stored webhook secret and passed
through the webhook's verification and storage (`simulator.simulated_callback_receive`), so the
worker applies them like Sinch's reports. As Sinch, it reports only to a service subscribed to
MESSAGE_DELIVERY.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django_tasks import task

from configurator.tasks import enqueue_in_turn
from conversations.gateways import OutgoingMessage, SentReceipt
from conversations.models import Contact, Message
from messaging import simulator
from messaging.selectors import app_region, inbound_authentication, outbound_authentication

logger = logging.getLogger(__name__)

# How long after the reply was stored the channel "delivers" it, and after that it is "read".
REPORT_DELAY_SECONDS = 1.0
# The reports the sandbox sends, in order: each one's task enqueues the next.
REPORTED_STATUSES = ("DELIVERED", "READ")


class SandboxGateway:
    """Replies to simulated contacts: accepted here, never sent to Sinch; reports follow."""

    def handles(self, contact: Contact) -> bool:
        return contact.simulated

    def send(self, contact: Contact, message: OutgoingMessage) -> SentReceipt:
        # The rules of the contact's region hold here too, so that a simulation shows them.
        content = message.content(
            channel=contact.sinch_channel, region=app_region(contact.sinch_app_id)
        )
        return SentReceipt(message_id=simulator.sinch_id(), content=content)

    def stored(self, message: Message) -> None:
        """Called after the reply's commit: its first report is due after the delay."""
        _report_later(message.pk, REPORTED_STATUSES[0])


def _report_later(message_pk: int, status: str) -> None:
    due = timezone.now() + timedelta(seconds=REPORT_DELAY_SECONDS)
    enqueue_in_turn(sandbox_delivery_report, message_pk, status, run_after=due)


@task()
def sandbox_delivery_report(message_pk: int, status: str) -> int | None:
    """Send one delivery report on a sandbox reply through the webhook's path; then the next.

    Returns the stored callback's id; None when there is nothing to report to (the reply, its
    app or the webhook secret is gone, or the service is not subscribed to MESSAGE_DELIVERY).
    """
    message = Message.objects.select_related("contact").filter(pk=message_pk).first()
    if message is None:
        return None
    contact = message.contact
    outbound = outbound_authentication(contact.sinch_app_id)
    inbound = None if outbound is None else inbound_authentication(outbound.service_id)
    if outbound is None or inbound is None or inbound.secret is None:
        logger.warning(
            "sandbox: no %s report for message %s: app %s has no messaging service with a "
            "webhook secret any more",
            status,
            message_pk,
            contact.sinch_app_id,
        )
        return None
    if not simulator.delivery_reports_subscribed(outbound.service):
        logger.info(
            "sandbox: no %s report for message %s: messaging service %s is not subscribed to "
            "MESSAGE_DELIVERY",
            status,
            message_pk,
            outbound.service.name,
        )
        return None
    body = simulator.delivery_report_body(
        app_id=contact.sinch_app_id,
        project_id=outbound.service.project_id,
        channel=contact.sinch_channel,
        identity=contact.source,
        message_id=message.sinch_message_id,
        status=status,
        at=datetime.now(UTC),
        contact_id=contact.sinch_contact_id,
        conversation_id=contact.sinch_conversation_id,
    )
    try:
        callback_id = simulator.simulated_callback_receive(
            service_id=outbound.service_id, secret=inbound.secret.reveal(), body=body
        )
    except simulator.SimulationRefused as exc:
        logger.warning("sandbox: %s report for message %s refused: %s", status, message_pk, exc)
        return None
    following = REPORTED_STATUSES.index(status) + 1 if status in REPORTED_STATUSES else None
    if following is not None and following < len(REPORTED_STATUSES):
        _report_later(message_pk, REPORTED_STATUSES[following])
    return callback_id
