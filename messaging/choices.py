"""Enumerations of the messaging app; values are the words used on the wire."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ServiceType(models.TextChoices):
    """Kinds of messaging service; only the Sinch Conversation API exists today."""

    SINCH_CONVERSATION = "sinchconversation", "sinchconversation"


class Region(models.TextChoices):
    """Conversation API regions (the host prefix of the service connection)."""

    EU = "eu", _("Europe (eu)")
    US = "us", _("United States (us)")
    BR = "br", _("Brazil (br)")


class ApiAuthMethod(models.TextChoices):
    """How replies authenticate to the Conversation API; Sinch meant Basic for trying things out."""

    OAUTH2 = "oauth2", _("OAuth2 client credentials")
    BASIC = "basic", _("Basic (testing only; Sinch rate-limits it heavily)")


class AuthenticationDirection(models.TextChoices):
    """Outbound entries send messages (KEYID@APPID); the inbound entry verifies webhooks."""

    OUTBOUND = "outbound", _("Outbound (send messages)")
    INBOUND = "inbound", _("Inbound (webhook)")


class VerifiedWith(models.TextChoices):
    """Which webhook secret verified a callback: the current one, or the previous in its overlap."""

    CURRENT = "current", _("current secret")
    PREVIOUS = "previous", _("previous secret")


class Trigger(models.TextChoices):
    """Conversation API webhook triggers, with Sinch's own upper-case names."""

    MESSAGE_INBOUND = "MESSAGE_INBOUND", "MESSAGE_INBOUND"
    MESSAGE_DELIVERY = "MESSAGE_DELIVERY", "MESSAGE_DELIVERY"
    MESSAGE_SUBMIT = "MESSAGE_SUBMIT", "MESSAGE_SUBMIT"
    EVENT_INBOUND = "EVENT_INBOUND", "EVENT_INBOUND"
    EVENT_DELIVERY = "EVENT_DELIVERY", "EVENT_DELIVERY"
    CONVERSATION_START = "CONVERSATION_START", "CONVERSATION_START"
    CONVERSATION_STOP = "CONVERSATION_STOP", "CONVERSATION_STOP"
    CONVERSATION_DELETE = "CONVERSATION_DELETE", "CONVERSATION_DELETE"
    CONTACT_CREATE = "CONTACT_CREATE", "CONTACT_CREATE"
    CONTACT_DELETE = "CONTACT_DELETE", "CONTACT_DELETE"
    CONTACT_MERGE = "CONTACT_MERGE", "CONTACT_MERGE"
    CONTACT_UPDATE = "CONTACT_UPDATE", "CONTACT_UPDATE"
    CONTACT_IDENTITIES_DUPLICATION = (
        "CONTACT_IDENTITIES_DUPLICATION",
        "CONTACT_IDENTITIES_DUPLICATION",
    )
    CAPABILITY = "CAPABILITY", "CAPABILITY"
    OPT_IN = "OPT_IN", "OPT_IN"
    OPT_OUT = "OPT_OUT", "OPT_OUT"
    CHANNEL_EVENT = "CHANNEL_EVENT", "CHANNEL_EVENT"
    UNSUPPORTED = "UNSUPPORTED", "UNSUPPORTED"
    SMART_CONVERSATION = "SMART_CONVERSATION", "SMART_CONVERSATION"
    MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION = (
        "MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION",
        "MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION",
    )
    RECORD_NOTIFICATION = "RECORD_NOTIFICATION", "RECORD_NOTIFICATION"


# Other spellings Sinch's SDKs use for the same trigger.
TRIGGER_ALIASES = {"SMART_CONVERSATIONS": Trigger.SMART_CONVERSATION}

# The notification key of a callback body names its trigger. Order matters: Sinch's own parser
# tests the short keys `message` and `event` before the longer ones.
NOTIFICATION_KEYS: tuple[tuple[str, Trigger], ...] = (
    ("message", Trigger.MESSAGE_INBOUND),
    ("message_redaction", Trigger.MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION),
    ("message_submit_notification", Trigger.MESSAGE_SUBMIT),
    ("message_delivery_report", Trigger.MESSAGE_DELIVERY),
    ("event", Trigger.EVENT_INBOUND),
    ("event_delivery_report", Trigger.EVENT_DELIVERY),
    ("conversation_start_notification", Trigger.CONVERSATION_START),
    ("conversation_stop_notification", Trigger.CONVERSATION_STOP),
    ("conversation_delete_notification", Trigger.CONVERSATION_DELETE),
    ("contact_create_notification", Trigger.CONTACT_CREATE),
    ("contact_delete_notification", Trigger.CONTACT_DELETE),
    ("contact_merge_notification", Trigger.CONTACT_MERGE),
    ("contact_update_notification", Trigger.CONTACT_UPDATE),
    ("duplicated_contact_identities_notification", Trigger.CONTACT_IDENTITIES_DUPLICATION),
    ("capability_notification", Trigger.CAPABILITY),
    ("opt_in_notification", Trigger.OPT_IN),
    ("opt_out_notification", Trigger.OPT_OUT),
    ("channel_event_notification", Trigger.CHANNEL_EVENT),
    ("unsupported_callback", Trigger.UNSUPPORTED),
    ("smart_conversation_notification", Trigger.SMART_CONVERSATION),
    ("record_notification", Trigger.RECORD_NOTIFICATION),
)


class CallbackStatus(models.TextChoices):
    """Where a stored callback is in its processing."""

    PENDING = "pending", _("Pending")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")


class ReasonCode(models.TextChoices):
    """What a callback's status reason means to the code; the sentence itself is for people."""

    NONE = "", _("—")
    # The reason is a note on an attempt in progress (taken over from a stopped worker, or given
    # back after a passing database error): the final outcome keeps it.
    ATTEMPT_NOTE = "attempt_note", _("note on an attempt")
    # A delivery report that overtook its outbound message: applied again once it is stored.
    OUTBOUND_MESSAGE_UNKNOWN = "outbound_message_unknown", _("waits for its outbound message")
    # A customer's message whose app and channel reach no chat queue: the home page counts these
    # as unrouted, and the administrator adds the queue address it names.
    NO_QUEUE = "no_queue", _("no queue for its address")


class DoctorStatus(models.TextChoices):
    """Outcome of one setup-doctor check: fine, something to do, or Sinch could not tell."""

    OK = "ok", _("OK")
    PROBLEM = "problem", _("problem")
    ERROR = "error", _("error")
