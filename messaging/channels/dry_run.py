"""Dry run: everything but the provider call. Messages end as `sent` with a `dryrun-` id and dry_run set."""

from __future__ import annotations

import uuid
from datetime import datetime

from messaging.channels.base import ProviderMessage, SendResult


class DryRunChannel:
    name = "sms"
    dry_run = True

    def send(self, to: str, body: str) -> SendResult:
        return SendResult(f"dryrun-{uuid.uuid4().hex}", "sent")

    def fetch(self, provider_sid: str) -> ProviderMessage:
        return ProviderMessage(provider_sid, "", "", "sent", None, None)

    def sent_to(self, to: str, since: datetime) -> list[ProviderMessage]:
        return []
