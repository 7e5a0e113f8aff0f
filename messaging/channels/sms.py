"""SMS through Twilio's Messages API."""

from __future__ import annotations

from datetime import datetime

from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import RequestException, Timeout
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from messaging.channels.base import ProviderMessage, SendError, SendResult

# Codes after which the same message must never be tried again.
PERMANENT_CODES = {
    21211,
    21214,
    21217,
    21219,
    21401,
    21407,
    21421,
    21408,
    21610,
    21612,
    21614,
    30005,
    30006,
    63014,
}


class TwilioSms:
    name = "sms"
    dry_run = False

    def __init__(self, client: Client, from_number: str = "", messaging_service_sid: str = "") -> None:
        self._client = client
        self._from = from_number
        self._service = messaging_service_sid

    def send(self, to: str, body: str) -> SendResult:
        sender = {"messaging_service_sid": self._service} if self._service else {"from_": self._from}
        try:
            message = self._client.messages.create(to=to, body=body, **sender)
        except TwilioRestException as exc:
            code = exc.code if isinstance(exc.code, int) else None
            maybe_sent = exc.status >= 500
            raise SendError(
                f"twilio {code or exc.status}: {exc.msg}",
                code=code,
                permanent=code in PERMANENT_CODES,
                maybe_sent=maybe_sent,
            ) from exc
        except (Timeout, RequestsConnectionError) as exc:
            # The request may have reached Twilio: never resend blindly.
            raise SendError(f"no answer from twilio: {exc.__class__.__name__}", maybe_sent=True) from exc
        except (TwilioException, RequestException) as exc:
            raise SendError(f"twilio: {exc.__class__.__name__}: {exc}", maybe_sent=True) from exc
        return SendResult(str(message.sid), str(message.status))

    def fetch(self, provider_sid: str) -> ProviderMessage:
        return _provider_message(self._client.messages(provider_sid).fetch())

    def sent_to(self, to: str, since: datetime) -> list[ProviderMessage]:
        return [_provider_message(m) for m in self._client.messages.list(to=to, date_sent_after=since, limit=200)]


def _provider_message(message: object) -> ProviderMessage:
    error = getattr(message, "error_code", None)
    return ProviderMessage(
        provider_sid=str(getattr(message, "sid", "")),
        to=str(getattr(message, "to", "")),
        body=str(getattr(message, "body", "")),
        status=str(getattr(message, "status", "")),
        created=getattr(message, "date_created", None),
        error_code=int(error) if error not in (None, "") else None,
    )
