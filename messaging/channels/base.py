"""What every channel returns or raises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


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

    permanent: never retry (invalid number, unsubscribed). maybe_sent: the request may have reached the provider
    (timeout, 5xx): never resend blindly, reconcile.
    """

    def __init__(self, reason: str, *, code: int | None = None, permanent: bool = False, maybe_sent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.permanent = permanent
        self.maybe_sent = maybe_sent


class Channel(Protocol):
    name: str
    dry_run: bool

    def send(self, to: str, body: str) -> SendResult: ...

    def fetch(self, provider_sid: str) -> ProviderMessage: ...

    def sent_to(self, to: str, since: datetime) -> list[ProviderMessage]: ...
