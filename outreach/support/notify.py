"""Telling people that something needs them: a reply waiting, sending paused. No personal data leaves this way:
ids, counts and reasons only; a fieldworker reads the message itself in the CLI or dashboard."""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage

from outreach.settings import NotifySettings

logger = logging.getLogger("outreach.support.notify")


class Notifier:
    def __init__(self, settings: NotifySettings, organisation: str) -> None:
        self.settings = settings
        self.organisation = organisation

    def __call__(self, event: str, fields: dict[str, object]) -> None:
        """Never raises: a notification that cannot be delivered is logged, the work it reports is already saved."""
        logger.warning("notification %s %s", event, json.dumps(fields, default=str, sort_keys=True))
        try:
            if self.settings.method == "smtp":
                self._email(event, fields)
            elif self.settings.method == "webhook":
                self._post(event, fields)
        except (OSError, smtplib.SMTPException) as exc:
            logger.error("notification %s not delivered by %s: %s", event, self.settings.method, exc)

    def _email(self, event: str, fields: dict[str, object]) -> None:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = ", ".join(self.settings.smtp_to)
        message["Subject"] = f"[{self.organisation}] {event}"
        message.set_content("\n".join(f"{key}: {value}" for key, value in sorted(fields.items())))
        with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)

    def _post(self, event: str, fields: dict[str, object]) -> None:
        body = json.dumps({"event": event, "organisation": self.organisation, **fields}, default=str).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL comes from the operator's configuration
            self.settings.webhook_url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass
