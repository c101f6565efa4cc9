"""A customer's identity on a chat channel, in the one form the whole project compares.

Sinch writes phone numbers as their digits with the country code and no "+" (46709876543), so an
agent's "+46 70-987 65 43" must become that too, or the duplicate check, WhatsApp's window and
the reply matching would each see a second customer.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext as _

# The channels whose identity is a phone number (MMS is no chat subchannel here).
PHONE_CHANNELS = frozenset({"WHATSAPP", "SMS", "VIBERBM", "RCS", "MMS"})
IDENTITY_MAX_CHARS = 200
# E.164: at most 15 digits with the country code.
PHONE_RE = re.compile(r"^[0-9]{6,15}$")
# What people write between a phone number's digits.
PHONE_PUNCTUATION_RE = re.compile(r"[\s.()\[\]-]")
# Control, format (U+200B, U+200E …), private, unassigned, surrogate, line and paragraph marks.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"})


def identity_problem(channel: str, identity: str) -> str:
    """Why `identity` (stripped) cannot be a customer on `channel`; empty when it can."""
    invisible = next((c for c in identity if unicodedata.category(c) in INVISIBLE_CATEGORIES), None)
    if invisible is not None:
        return _(
            "An identity may not hold invisible or control characters (U+%(code)04X found)."
        ) % {"code": ord(invisible)}
    if channel in PHONE_CHANNELS:
        if not PHONE_RE.match(_phone_digits(identity)):
            return _(
                "On %(channel)s the identity is a phone number: its digits with the country "
                "code, such as 46709876543 (a leading +, spaces, dashes, dots and brackets "
                "are dropped)."
            ) % {"channel": channel}
        return ""
    if len(identity) > IDENTITY_MAX_CHARS or any(c.isspace() for c in identity):
        return _("An identity is at most %(limit)s characters, without spaces.") % {
            "limit": IDENTITY_MAX_CHARS
        }
    return ""


def canonical_identity(channel: str, identity: str) -> str:
    """The form Sinch writes the identity in: a phone channel's number as its digits alone."""
    identity = identity.strip()
    if channel in PHONE_CHANNELS:
        digits = _phone_digits(identity)
        if PHONE_RE.match(digits):
            return digits
    return identity


def _phone_digits(identity: str) -> str:
    return PHONE_PUNCTUATION_RE.sub("", identity.strip()).removeprefix("+")
