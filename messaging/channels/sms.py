"""SMS (and, through the same API, WhatsApp) via Twilio's Messages API with the official SDK."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import RequestException, Timeout
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from messaging.channels.base import Outbound, ProviderMessage, SendError, SendResult
from messaging.channels.twilio_client import close_client
from messaging.twilio_codes import outcome_of


class TwilioSms:
    name = "sms"
    dry_run = False
    address_prefix = ""

    def __init__(self, client: Client, from_number: str = "", messaging_service_sid: str = "") -> None:
        self._client = client
        self._from = from_number
        self._service = messaging_service_sid

    def _parameters(self, message: Outbound) -> dict[str, Any]:
        sender = {"messaging_service_sid": self._service} if self._service else {"from_": self._from}
        if message.sender:
            is_service = message.sender.startswith("MG")
            sender = {"messaging_service_sid": message.sender} if is_service else {"from_": message.sender}
        parameters: dict[str, Any] = {"to": message.to, "body": message.body, **sender}
        if message.status_callback:
            parameters["status_callback"] = message.status_callback
        if message.validity_seconds:
            parameters["validity_period"] = message.validity_seconds
        return parameters

    def send(self, message: Outbound) -> SendResult:
        try:
            created = self._client.messages.create(**self._parameters(message))
        except TwilioRestException as exc:
            code = exc.code if isinstance(exc.code, int) else None
            raise SendError(
                f"twilio {code or exc.status}: {exc.msg}",
                code=code,
                outcome=outcome_of(code, exc.status),
                # A 5xx may come after Twilio accepted the message.
                maybe_sent=exc.status >= 500,
            ) from exc
        except (Timeout, RequestsConnectionError) as exc:
            # The request may have reached Twilio: never resend blindly.
            raise SendError(f"no answer from twilio: {exc.__class__.__name__}", maybe_sent=True) from exc
        except (TwilioException, RequestException) as exc:
            # Newer SDKs raise other TwilioException subclasses; we cannot know whether Twilio got the request.
            raise SendError(f"twilio: {exc.__class__.__name__}: {exc}", maybe_sent=True) from exc
        return SendResult(str(created.sid), str(created.status))

    def fetch(self, provider_sid: str) -> ProviderMessage:
        return provider_message(self._client.messages(provider_sid).fetch())

    def close(self) -> None:
        close_client(self._client)

    def sent_to(self, to: str, since: datetime) -> list[ProviderMessage]:
        address = self.address_prefix + to
        return [provider_message(m) for m in self._client.messages.list(to=address, date_sent_after=since, limit=200)]


def provider_message(message: object) -> ProviderMessage:
    error = getattr(message, "error_code", None)
    return ProviderMessage(
        provider_sid=str(getattr(message, "sid", "")),
        to=str(getattr(message, "to", "")),
        body=str(getattr(message, "body", "")),
        status=str(getattr(message, "status", "")),
        created=getattr(message, "date_created", None),
        error_code=int(error) if error not in (None, "") else None,
    )
