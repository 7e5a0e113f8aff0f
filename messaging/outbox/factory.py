"""Builds the outbox from the settings: channels, send policy, status-callback URLs, notifications."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from messaging.channels.base import Channel
from messaging.channels.dry_run import DryRunChannel
from messaging.channels.sms import TwilioSms
from messaging.channels.twilio_client import make_client
from messaging.channels.whatsapp import TwilioWhatsApp
from messaging.outbox.drain import Outbox
from messaging.outbox.ports import StopList
from outreach.crypto import PhoneVault
from outreach.errors import ConfigError
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.support.notify import Notifier

_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")


def check_sender(settings: Settings) -> None:
    """An alphanumeric sender cannot receive replies or STOP: refuse it, people must always be able to stop us."""
    for unit in settings.organisations:
        if not unit.messaging_service_sid and _ALPHANUMERIC_SENDER.match(unit.from_number):
            raise ConfigError(f"organisations: {unit.key}: from_number {unit.from_number!r} cannot receive replies")
    twilio = settings.twilio
    if twilio.messaging_service_sid:
        return
    if not twilio.from_number:
        raise ConfigError("twilio: set from_number (a two-way number) or messaging_service_sid to send")
    if _ALPHANUMERIC_SENDER.match(twilio.from_number):
        raise ConfigError(
            f"twilio.from_number: {twilio.from_number!r} is an alphanumeric sender, which cannot receive replies "
            "or STOP; use a two-way number or a Messaging Service"
        )


def make_channels(settings: Settings, dry_run: bool) -> dict[str, Channel]:
    if dry_run:
        return {"sms": DryRunChannel(), "whatsapp": DryRunChannel("whatsapp")}
    check_sender(settings)
    client = make_client(settings.twilio)
    channels: dict[str, Channel] = {
        "sms": TwilioSms(client, settings.twilio.from_number, settings.twilio.messaging_service_sid)
    }
    if settings.whatsapp.enabled:
        if not settings.whatsapp.from_number:
            raise ConfigError("whatsapp.from_number: required when whatsapp.enabled is true")
        channels["whatsapp"] = TwilioWhatsApp(client, settings.whatsapp.from_number)
    return channels


def status_callback_url(settings: Settings, message_id: int) -> str | None:
    """Twilio posts delivery states here; without a public URL we poll instead."""
    base = settings.web.public_url.rstrip("/")
    return f"{base}/twilio/status/{message_id}" if base else None


def make_outbox(
    settings: Settings,
    store: Store,
    actor: str,
    stops: StopList,
    dry_run: bool | None = None,
    stop: threading.Event | None = None,
    organisation: str | None = None,
    channels: Mapping[str, Channel] | None = None,
    **options: Any,
) -> Outbox:
    """organisation: an outbox for that organisation's cycle, draining only its messages within its window;
    channels: another outbox's, to share (a cycle of several organisations; None: new ones);
    options: Outbox's own (sleep, monotonic, clock, rng; a notify in place of the configured one)."""
    dry = settings.dry_run if dry_run is None else dry_run
    return Outbox(
        store,
        PhoneVault.from_settings(settings),
        channels if channels is not None else make_channels(settings, dry),
        actor,
        stops=stops,
        sending=settings.sending_for(organisation),
        callback_url=lambda message_id: status_callback_url(settings, message_id),
        sms_fallback=settings.whatsapp.fallback_to_sms,
        stop=stop,
        senders={unit.key: unit.sender for unit in settings.organisations if unit.sender},
        organisation=organisation,
        **{"notify": Notifier(settings.notify, settings.organisation.name), **options},
    )


def queued_count(store: Store, limit: int | None = None) -> int:
    """Messages waiting to be sent (at most `limit`): the length of a send's progress bar."""
    from sqlalchemy import func, select

    from outreach.store.models import Message
    from outreach.store.states import MessageStatus

    with store.session() as session:
        waiting = session.execute(
            select(func.count(Message.id)).where(Message.status == MessageStatus.QUEUED)
        ).scalar_one()
    return waiting if limit is None else min(waiting, limit)
