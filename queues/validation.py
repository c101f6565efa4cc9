"""Rules for queue addresses, written once for the admin form and the API.

The messaging app knows which Sinch apps exist; queues must not import it (it sits upstream), so
messaging registers an app directory here when it starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from configurator import extensions
from queues.choices import (
    ADDRESS_DOMAIN,
    SUBCHANNEL_BY_NAME,
    SUBCHANNELS,
    QueueChannelType,
)


@dataclass(frozen=True)
class SinchApp:
    """What queues need to know of a Sinch app: where (its region) it is held."""

    app_id: str
    region: str


def sinch_apps(app_ids: Collection[str]) -> dict[str, SinchApp]:
    """The known Sinch apps among `app_ids` (messaging registers its directory at start-up)."""
    known: dict[str, SinchApp] = {}
    for directory in extensions.sinch_app_directory:
        known.update(directory(app_ids))
    return known


def sms_sender_missing(*, region: str, sms_sender_id: str) -> bool:
    """Whether SMS through a service of `region` lacks the sender ID US SMS cannot go without."""
    return region.lower() == "us" and not sms_sender_id.strip()


@dataclass(frozen=True)
class CleanAddress:
    """A queue address in its stored form."""

    address: str
    app_id: str = ""
    subchannel: str = ""


_CHAT_ADDRESS = re.compile(r"^(?P<app>[A-Za-z0-9]+)@(?P<sub>[A-Za-z-]+)(?P<domain>\.[A-Za-z.]+)?$")
_PHONE_ADDRESS = re.compile(r"^\+?[0-9]{2,20}$")
_SMS_SENDER = re.compile(r"^(\+?[0-9]{3,15}|[A-Za-z0-9][A-Za-z0-9 ]{0,10})$")
SUBCHANNEL_NAMES = ", ".join(s.name for s in SUBCHANNELS)


def parse_chat_address(raw: str) -> tuple[CleanAddress, str | None]:
    """Parse `APPID@subchannel[.sinchconversation.com]`; returns the address and a notice.

    The notice tells the administrator when a lower-case app ID was upper-cased.
    """
    value = raw.strip()
    match = _CHAT_ADDRESS.match(value)
    if match is None:
        raise ValidationError(
            _(
                "“%(value)s” is not a chat address: expected APPID@subchannel.%(domain)s, "
                "for example 01E4556565565ERKYO@whatsapp.%(domain)s."
            )
            % {"value": value, "domain": ADDRESS_DOMAIN}
        )
    subchannel = match["sub"].lower()
    domain = (match["domain"] or "").lower()
    if domain and domain != "." + ADDRESS_DOMAIN:
        raise ValidationError(
            _("“%(value)s” must end in .%(domain)s (or leave the domain out).")
            % {"value": value, "domain": ADDRESS_DOMAIN}
        )
    if subchannel not in SUBCHANNEL_BY_NAME:
        raise ValidationError(
            _("Unknown subchannel “%(sub)s” in “%(value)s”: use one of %(names)s.")
            % {"sub": match["sub"], "value": value, "names": SUBCHANNEL_NAMES}
        )
    app_id = match["app"].upper()
    address = f"{app_id}@{subchannel}.{ADDRESS_DOMAIN}"
    notice = None
    if app_id != match["app"]:
        notice = _("App IDs are upper-case in Sinch: “%(value)s” was saved as “%(address)s”.") % {
            "value": value,
            "address": address,
        }
    return CleanAddress(address=address, app_id=app_id, subchannel=subchannel), notice


def chat_address(app_id: str, subchannel: str) -> str:
    """The stored form of a chat address."""
    return f"{app_id.upper()}@{subchannel}.{ADDRESS_DOMAIN}"


@dataclass
class AddressesResult:
    """Outcome of `clean_addresses`: clean addresses, or errors by position and by field."""

    addresses: list[CleanAddress] = field(default_factory=list)
    errors: dict[int, list[str]] = field(default_factory=dict)
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors and not self.field_errors


def clean_addresses(
    raw_addresses: Sequence[str],
    *,
    channel_type: str,
    sms_sender_id: str,
    taken: Callable[[Collection[str]], dict[str, str]],
    stored: Collection[str] = (),
) -> AddressesResult:
    """Check a queue's addresses as a whole.

    `taken` maps addresses to the names of *other* queues already holding them. `stored` are the
    queue's saved addresses: one whose app lost its credentials since is kept with a notice, so
    that the queue can still be edited.
    """
    result = AddressesResult()
    if not [a for a in raw_addresses if a.strip()]:
        result.field_errors["addresses"] = [_("A queue needs at least one address.")]
        return result
    seen: dict[str, int] = {}
    parsed: dict[int, CleanAddress] = {}
    for index, raw in enumerate(raw_addresses):
        if not raw.strip():
            continue
        try:
            clean, notice = _parse_address(raw, channel_type)
        except ValidationError as exc:
            result.errors[index] = list(exc.messages)
            continue
        if notice:
            result.notices.append(notice)
        if clean.address in seen:
            result.errors[index] = [
                _("“%(address)s” is listed twice.") % {"address": clean.address}
            ]
            continue
        seen[clean.address] = index
        parsed[index] = clean
    owners = taken([c.address for c in parsed.values()])
    apps = sinch_apps({c.app_id for c in parsed.values() if c.app_id})
    sms_regions: set[str] = set()
    for index, clean in parsed.items():
        messages: list[str] = []
        if clean.address in owners:
            messages.append(
                _(
                    "“%(address)s” already routes to queue “%(queue)s”; "
                    "an address routes to one queue."
                )
                % {"address": clean.address, "queue": owners[clean.address]}
            )
        if clean.app_id:
            app = apps.get(clean.app_id)
            if app is None and clean.address in stored:
                result.notices.append(
                    _(
                        "App %(app)s no longer has outbound credentials in any messaging "
                        "service: replies to conversations on %(address)s cannot be sent."
                    )
                    % {"app": clean.app_id, "address": clean.address}
                )
            elif app is None:
                messages.append(
                    _(
                        "App %(app)s has no outbound authentication in any messaging service: "
                        "add KEYID@%(app)s to a messaging service first."
                    )
                    % {"app": clean.app_id}
                )
            elif clean.subchannel == "sms":
                sms_regions.add(app.region)
        if messages:
            result.errors[index] = messages
    if any(sms_sender_missing(region=r, sms_sender_id=sms_sender_id) for r in sms_regions):
        result.field_errors["sms_sender_id"] = [
            _("An SMS address on a US messaging service needs an SMS sender ID.")
        ]
    if sms_sender_id.strip() and not _SMS_SENDER.match(sms_sender_id.strip()):
        result.field_errors.setdefault("sms_sender_id", []).append(
            _(
                "An SMS sender ID is a number (3–15 digits, optionally with +) or up to 11 "
                "letters, digits and spaces."
            )
        )
    if not result.errors:
        result.addresses = [parsed[i] for i in sorted(parsed)]
    return result


def _parse_address(raw: str, channel_type: str) -> tuple[CleanAddress, str | None]:
    value = raw.strip()
    if channel_type == QueueChannelType.CHAT:
        return parse_chat_address(value)
    if not _PHONE_ADDRESS.match(value):
        raise ValidationError(
            _(
                "“%(value)s” is not a phone queue address: give a number in international "
                "format (+358401234567) or an extension (digits only)."
            )
            % {"value": value}
        )
    return CleanAddress(address=value), None
