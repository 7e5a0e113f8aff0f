"""What every channel takes, returns or raises. Channels never touch the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from messaging.twilio_codes import Outcome


@dataclass(frozen=True)
class Outbound:
    """One message as the provider needs it. WhatsApp first contact carries a Content template, never a body."""

    to: str
    body: str
    status_callback: str | None = None
    validity_seconds: int | None = None
    content_sid: str | None = None
    content_variables: dict[str, str] = field(default_factory=dict)
    # With several organisations: the sending organisation's number (+...) or Messaging Service (MG...); empty:
    # the channel's own.
    sender: str = ""


@dataclass(frozen=True)
class SendResult:
    provider_sid: str
    status: str


@dataclass(frozen=True)
class ProviderMessage:
    """A message as the provider knows it, for status refresh and reconciliation."""

    provider_sid: str
    to: str
    body: str
    status: str
    created: datetime | None
    error_code: int | None


class SendError(Exception):
    """The provider did not take the message.

    outcome: what the error means for us (messaging.twilio_codes). maybe_sent: the request may have reached the
    provider (timeout, 5xx, dropped connection): never resend blindly, reconcile.
    """

    def __init__(
        self,
        reason: str,
        *,
        code: int | None = None,
        outcome: Outcome = Outcome.FAILED,
        maybe_sent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.outcome = outcome
        self.maybe_sent = maybe_sent
        self.retry_after = retry_after


class Channel(Protocol):
    name: str
    dry_run: bool

    def send(self, message: Outbound) -> SendResult: ...

    def fetch(self, provider_sid: str) -> ProviderMessage: ...

    def sent_to(self, to: str, since: datetime) -> list[ProviderMessage]: ...

    def close(self) -> None:
        """Release the connection to the provider (the end of a cycle or of a command)."""
        ...
