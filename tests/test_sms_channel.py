"""The official Twilio SDK against the test gateway: what Twilio answers becomes a SendError with its meaning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from messaging.channels.base import Outbound, SendError
from messaging.channels.sms import TwilioSms
from messaging.channels.twilio_client import make_client
from messaging.twilio_codes import Outcome
from outreach.errors import ConfigError
from outreach.settings import TwilioSettings
from testworld.twilio_gateway import TwilioGateway


def _channel(gateway: TwilioGateway, token: str | None = None) -> TwilioSms:
    settings = TwilioSettings(
        account_sid=gateway.account_sid,
        auth_token=SecretStr(token or gateway.auth_token),
        api_base_url=gateway.url,
    )
    return TwilioSms(make_client(settings), from_number="+15555550101")


def test_it_sends_and_the_gateway_records_it(gateway: TwilioGateway) -> None:
    result = _channel(gateway).send(Outbound("+31612345678", "Hallo"))
    assert result.provider_sid.startswith("SM") and result.status == "queued"
    assert [(m.to, m.body) for m in gateway.messages] == [("+31612345678", "Hallo")]
    assert _channel(gateway).fetch(result.provider_sid).status == "delivered"


def test_an_invalid_number_is_a_permanent_failure_with_twilios_code(gateway: TwilioGateway) -> None:
    with pytest.raises(SendError) as caught:
        _channel(gateway).send(Outbound("+3161234", "Hallo"))
    assert caught.value.code == 21211 and caught.value.outcome is Outcome.INVALID_NUMBER and not caught.value.maybe_sent
    assert gateway.messages == []


def test_an_unsubscribed_recipient_is_permanent(gateway: TwilioGateway) -> None:
    gateway.opted_out.add("+31612345678")
    with pytest.raises(SendError) as caught:
        _channel(gateway).send(Outbound("+31612345678", "Hallo"))
    assert caught.value.code == 21610 and caught.value.outcome is Outcome.OPT_OUT


def test_a_wrong_auth_token_is_rejected(gateway: TwilioGateway) -> None:
    with pytest.raises(SendError) as caught:
        _channel(gateway, token="wrong").send(Outbound("+31612345678", "Hallo"))
    assert caught.value.code == 20003
    assert gateway.messages == []


def test_no_answer_means_maybe_sent_never_a_plain_failure() -> None:
    settings = TwilioSettings(
        account_sid="AC" + "1" * 32, auth_token=SecretStr("x"), api_base_url="http://127.0.0.1:9", timeout_seconds=2
    )
    with pytest.raises(SendError) as caught:
        TwilioSms(make_client(settings), from_number="+15555550101").send(Outbound("+31612345678", "Hallo"))
    assert caught.value.maybe_sent


def test_it_lists_what_was_sent_to_a_number(gateway: TwilioGateway) -> None:
    channel = _channel(gateway)
    channel.send(Outbound("+31612345678", "een"))
    channel.send(Outbound("+31687654321", "twee"))
    listed = channel.sent_to("+31612345678", datetime.now(UTC) - timedelta(minutes=5))
    assert [m.body for m in listed] == ["een"]


def test_missing_credentials_are_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="account_sid"):
        make_client(TwilioSettings())
