"""Dry run: everything but the provider call. Messages end as `sent` with a `dryrun-` id and dry_run set."""

from __future__ import annotations

import uuid
from datetime import datetime

from messaging.channels.base import Outbound, ProviderMessage, SendResult


class DryRunChannel:
    dry_run = True

    def __init__(self, name: str = "sms") -> None:
        self.name = name

    def send(self, message: Outbound) -> SendResult:
        return SendResult(f"dryrun-{uuid.uuid4().hex}", "sent")

    def fetch(self, provider_sid: str) -> ProviderMessage:
        return ProviderMessage(provider_sid, "", "", "sent", None, None)

    def sent_to(self, to: str, since: datetime) -> list[ProviderMessage]:
        return []

    def close(self) -> None:
        """Nothing to close: no connection."""
