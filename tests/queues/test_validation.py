"""Queue address rules (queues.validation) and the subchannel ↔ Conversation API channel table."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from messaging.models import MessagingService
from queues import routing, selectors
from queues.choices import SUBCHANNEL_BY_NAME, SUBCHANNEL_BY_SINCH_CHANNEL, SUBCHANNELS
from queues.validation import AddressesResult, CleanAddress, clean_addresses
from tests.factories import make_queue, make_service, outbound

pytestmark = pytest.mark.django_db

APP = "01E4556565565ERKYO"
LONG = f"{APP}@whatsapp.sinchconversation.com"
US_CONNECTION = (
    "https://us.conversation.api.sinch.com/v1/projects/"
    "e2df3a34-a71b-4448-9db5-a8d2baad28e4/messages:send"
)
SENDER_ID_RULE = (
    "An SMS sender ID is a number (3–15 digits, optionally with +) or up to 11 letters, "
    "digits and spaces."
)


def nothing_taken(addresses: Collection[str]) -> dict[str, str]:
    return {}


def check(
    addresses: list[str],
    *,
    channel_type: str = "chat",
    sms_sender_id: str = "",
    exclude_queue_id: int | None = None,
) -> AddressesResult:
    """Run the rules with the real directory of taken addresses."""

    def taken(candidates: Collection[str]) -> dict[str, str]:
        return selectors.addresses_taken(candidates, exclude_queue_id=exclude_queue_id)

    return clean_addresses(
        addresses, channel_type=channel_type, sms_sender_id=sms_sender_id, taken=taken
    )


def only_error(result: AddressesResult, index: int = 0) -> str:
    assert not result.valid
    assert result.addresses == []
    assert list(result.errors) == [index], result.errors
    [message] = result.errors[index]
    return message


@pytest.mark.usefixtures("service")
def test_short_form_is_stored_in_long_form() -> None:
    result = check([f"{APP}@whatsapp"])
    assert result.valid
    assert result.addresses == [CleanAddress(address=LONG, app_id=APP, subchannel="whatsapp")]
    assert result.notices == []


@pytest.mark.usefixtures("service")
def test_long_form_is_kept_and_its_case_normalised() -> None:
    result = check([LONG, f"  {APP}@Viber-Bot.SinchConversation.COM  "])
    assert result.valid, result.errors
    assert [a.address for a in result.addresses] == [
        LONG,
        f"{APP}@viber-bot.sinchconversation.com",
    ]
    assert result.addresses[1].subchannel == "viber-bot"


@pytest.mark.usefixtures("service")
def test_lower_case_app_id_is_upper_cased_with_a_notice() -> None:
    result = check(["01e4556565565erkyo@whatsapp"])
    assert result.valid
    assert result.addresses == [CleanAddress(address=LONG, app_id=APP, subchannel="whatsapp")]
    assert result.notices == [
        f"App IDs are upper-case in Sinch: “01e4556565565erkyo@whatsapp” was saved as “{LONG}”."
    ]


@pytest.mark.usefixtures("service")
def test_rejects_unknown_subchannel() -> None:
    assert only_error(check([f"{APP}@signal"])) == (
        f"Unknown subchannel “signal” in “{APP}@signal”: use one of whatsapp, nativechannel, "
        "facebook, viber-bot, instagram, viber, telegram, line, rcs, sms."
    )


@pytest.mark.usefixtures("service")
def test_rejects_wrong_domain() -> None:
    assert only_error(check([f"{APP}@whatsapp.example.com"])) == (
        f"“{APP}@whatsapp.example.com” must end in .sinchconversation.com "
        "(or leave the domain out)."
    )


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize("raw", ["support", "@whatsapp", f"{APP}@", f"{APP}@what_sapp", "a@b@c"])
def test_rejects_what_is_not_a_chat_address(raw: str) -> None:
    assert only_error(check([raw])) == (
        f"“{raw}” is not a chat address: expected APPID@subchannel.sinchconversation.com, "
        "for example 01E4556565565ERKYO@whatsapp.sinchconversation.com."
    )


@pytest.mark.usefixtures("service")
def test_rejects_app_without_outbound_authentication_in_any_messaging_service() -> None:
    assert only_error(check(["01UNKNOWNAPP@whatsapp"])) == (
        "App 01UNKNOWNAPP has no outbound authentication in any messaging service: "
        "add KEYID@01UNKNOWNAPP to a messaging service first."
    )


def test_app_of_any_messaging_service_is_accepted() -> None:
    make_service(app_id="01FIRSTAPP")
    make_service(app_id="01SECONDAPP")
    result = check(["01FIRSTAPP@whatsapp", "01SECONDAPP@telegram"])
    assert result.valid, result.errors


@pytest.mark.usefixtures("service")
def test_rejects_address_listed_twice_even_in_another_form() -> None:
    result = check([f"{APP}@whatsapp", LONG])
    assert only_error(result, index=1) == f"“{LONG}” is listed twice."


@pytest.mark.usefixtures("service")
def test_rejects_address_of_another_queue() -> None:
    make_queue("Sales", [f"{APP}@whatsapp"])
    result = check([f"{APP}@telegram", f"{APP}@whatsapp"])
    assert only_error(result, index=1) == (
        f"“{LONG}” already routes to queue “Sales”; an address routes to one queue."
    )


@pytest.mark.usefixtures("service")
def test_queue_may_keep_its_own_addresses() -> None:
    queue = make_queue("Sales", [f"{APP}@whatsapp"])
    assert check([LONG], exclude_queue_id=queue.pk).valid


@pytest.mark.usefixtures("service")
def test_each_address_gets_all_of_its_errors_at_its_own_position() -> None:
    make_queue("Sales", ["01UNKNOWNAPP@whatsapp"])
    result = check([f"{APP}@whatsapp", "nonsense", "01UNKNOWNAPP@whatsapp"])
    assert sorted(result.errors) == [1, 2]
    assert len(result.errors[2]) == 2
    assert "already routes to queue “Sales”" in result.errors[2][0]
    assert "has no outbound authentication" in result.errors[2][1]
    assert result.addresses == []


def test_rejects_sms_address_on_us_service_without_sms_sender_id() -> None:
    make_service(app_id="01USAPP", service_connection=US_CONNECTION)
    result = check(["01USAPP@sms"])
    assert result.errors == {}
    assert result.field_errors == {
        "sms_sender_id": ["An SMS address on a US messaging service needs an SMS sender ID."]
    }
    assert not result.valid


def test_accepts_sms_address_on_us_service_with_sms_sender_id() -> None:
    make_service(app_id="01USAPP", service_connection=US_CONNECTION)
    result = check(["01USAPP@sms"], sms_sender_id="+12025550123")
    assert result.valid
    assert result.addresses[0].address == "01USAPP@sms.sinchconversation.com"


def test_accepts_sms_address_on_eu_service_without_sms_sender_id() -> None:
    make_service(app_id="01EUAPP")
    assert check(["01EUAPP@sms"]).valid


def test_us_service_needs_no_sms_sender_id_for_other_subchannels() -> None:
    make_service(app_id="01USAPP", service_connection=US_CONNECTION)
    assert check(["01USAPP@whatsapp"]).valid


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    "sender", ["+12", "Acme_1", "Acme Support Team", "Acme!", "+1234567890123456"]
)
def test_rejects_bad_sms_sender_id(sender: str) -> None:
    result = check([f"{APP}@sms"], sms_sender_id=sender)
    assert result.field_errors == {"sms_sender_id": [SENDER_ID_RULE]}


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize("sender", ["123", "+358401234567", "Acme", "Acme Help 1"])
def test_accepts_sms_sender_ids_sinch_takes(sender: str) -> None:
    assert check([f"{APP}@sms"], sms_sender_id=sender).valid


def test_blank_sms_sender_id_counts_as_none_on_us_service() -> None:
    make_service(
        name="Sinch US",
        service_connection=US_CONNECTION,
        authentications=[outbound("01USAPP")],
    )
    result = check(["01USAPP@sms"], sms_sender_id="   ")
    assert result.field_errors == {
        "sms_sender_id": ["An SMS address on a US messaging service needs an SMS sender ID."]
    }


@pytest.mark.parametrize("number", ["+358401234567", "2001", "0401234567"])
def test_phone_queue_takes_numbers_and_extensions(number: str) -> None:
    result = check([number], channel_type="phone")
    assert result.valid
    assert result.addresses == [CleanAddress(address=number)]


@pytest.mark.parametrize("raw", ["support", f"{APP}@whatsapp", "+1", "358 40 123 4567"])
def test_phone_queue_rejects_what_is_not_a_number(raw: str) -> None:
    assert only_error(check([raw], channel_type="phone")) == (
        f"“{raw}” is not a phone queue address: give a number in international format "
        "(+358401234567) or an extension (digits only)."
    )


@pytest.mark.parametrize("addresses", [[], [""], ["  ", ""]])
def test_rejects_empty_list(addresses: list[str]) -> None:
    result = check(addresses)
    assert result.field_errors == {"addresses": ["A queue needs at least one address."]}
    assert result.errors == {}
    assert not result.valid


@pytest.mark.usefixtures("service")
def test_blank_lines_among_addresses_are_skipped() -> None:
    result = clean_addresses(
        ["", f"{APP}@whatsapp", "  "], channel_type="chat", sms_sender_id="", taken=nothing_taken
    )
    assert result.valid
    assert [a.address for a in result.addresses] == [LONG]


CHANNEL_TABLE = [
    ("whatsapp", "WHATSAPP"),
    ("nativechannel", "SINCH_CHAT"),
    ("facebook", "MESSENGER"),
    ("viber-bot", "VIBER"),
    ("instagram", "INSTAGRAM"),
    ("viber", "VIBERBM"),
    ("telegram", "TELEGRAM"),
    ("line", "LINE"),
    ("rcs", "RCS"),
    ("sms", "SMS"),
]


def test_subchannel_table_has_the_ten_subchannels_of_the_issue() -> None:
    assert [(s.name, s.sinch_channel) for s in SUBCHANNELS] == CHANNEL_TABLE


@pytest.mark.parametrize(("subchannel", "channel"), CHANNEL_TABLE)
def test_subchannel_maps_to_its_conversation_api_channel_and_back(
    subchannel: str, channel: str
) -> None:
    assert SUBCHANNEL_BY_NAME[subchannel].sinch_channel == channel
    assert SUBCHANNEL_BY_SINCH_CHANNEL[channel].name == subchannel
    assert routing.address_for_channel(APP, channel) == (
        f"{APP}@{subchannel}.sinchconversation.com"
    )


def test_address_for_channel_upper_cases_app_and_channel() -> None:
    assert routing.address_for_channel("01e4556565565erkyo", "whatsapp") == LONG


@pytest.mark.parametrize(("app_id", "channel"), [(APP, "KAKAOTALK"), (APP, ""), ("", "WHATSAPP")])
def test_address_for_channel_is_none_without_app_or_subchannel(app_id: str, channel: str) -> None:
    assert routing.address_for_channel(app_id, channel) is None


def test_route_finds_queue_of_an_address_in_one_query(
    service: MessagingService, django_assert_num_queries: pytest.FixtureRequest
) -> None:
    queue = make_queue("Support", [f"{APP}@whatsapp"])
    with django_assert_num_queries(1):  # type: ignore[operator]
        routed = routing.route(LONG)
        assert routed is not None
        assert routed.queue.name == "Support"
    assert routed.queue == queue
    assert routing.route(f"{APP}@telegram.sinchconversation.com") is None
