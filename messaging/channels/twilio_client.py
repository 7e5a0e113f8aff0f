"""The official Twilio SDK client, pointed at the API base URL from configuration (the test gateway in tests)."""

from __future__ import annotations

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from outreach.errors import ConfigError
from outreach.settings import TwilioSettings


def make_client(settings: TwilioSettings) -> Client:
    if not settings.account_sid.startswith("AC") or settings.auth_token is None:
        raise ConfigError("twilio: account_sid (AC...) and auth_token are required to send")
    # No automatic retries: a retried create can send the same message twice.
    http = TwilioHttpClient(timeout=settings.timeout_seconds, max_retries=None)
    client = Client(
        settings.account_sid,
        settings.auth_token.get_secret_value(),
        http_client=http,
        environment={},  # TWILIO_EDGE / TWILIO_REGION in the environment would rewrite the host
    )
    client.api.base_url = settings.api_base_url.rstrip("/")
    return client


def close_client(client: Client) -> None:
    """Close the client's pooled HTTPS connection. Left to the garbage collector it stays open long after the last
    message (the SDK's objects refer to each other, so only a full collection frees them): a scheduler that makes a
    client every cycle would pile up connections to Twilio."""
    session = getattr(client.http_client, "session", None)
    if session is not None:
        session.close()
