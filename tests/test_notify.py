"""Notifications reach the configured webhook with ids only, and a broken one never breaks the work."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest

from outreach.settings import NotifySettings
from outreach.support.notify import Notifier
from testworld.server import BackgroundServer, QuietHandler


class _Receiver(QuietHandler):
    world: NotificationSink

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length))
        if self.world.on_receive is not None:
            self.world.on_receive(body)
        self.world.received.append(body)
        self.send_body(204, b"", "text/plain")


class NotificationSink(BackgroundServer):
    handler_class = _Receiver

    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict[str, object]] = []
        # Called with each notification before it is answered: what the database shows meanwhile.
        self.on_receive: Callable[[dict[str, object]], None] | None = None


def test_a_reply_notification_is_posted_to_the_webhook() -> None:
    with NotificationSink() as sink:
        notify = Notifier(NotifySettings(method="webhook", webhook_url=f"{sink.url}/hook"), "Demo Outreach")
        notify("reply.waiting", {"message_id": 7, "person_id": 3})
    assert sink.received == [
        {"event": "reply.waiting", "organisation": "Demo Outreach", "message_id": 7, "person_id": 3}
    ]


def test_an_unreachable_notification_target_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    notify = Notifier(NotifySettings(method="webhook", webhook_url="http://127.0.0.1:9/hook"), "Demo Outreach")
    with caplog.at_level(logging.ERROR, logger="outreach.support.notify"):
        notify("sending.paused", {"code": 30007})
    assert any("not delivered by webhook" in record.getMessage() for record in caplog.records)


def test_smtp_notifications_need_a_server_and_recipients() -> None:
    with pytest.raises(ValueError, match="smtp_host"):
        NotifySettings(method="smtp")
