"""Key rotation: every encrypted value (numbers, reply texts, advert addresses) re-encrypted under the current Fernet
key, in small batches, while the system runs (readers accept the previous keys until the rotation is done and they
are removed)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from outreach import audit
from outreach.audit_events import Event
from outreach.crypto import PhoneVault
from outreach.store.db import Store
from outreach.store.models import Advert, Message, Person
from outreach.store.states import Direction

BATCH = 500


@dataclass(frozen=True)
class RotationReport:
    numbers: int
    message_texts: int
    advert_addresses: int


def rotate_keys(store: Store, vault: PhoneVault, actor: str) -> RotationReport:
    numbers = texts = 0
    last_id = 0
    while True:  # one short transaction per batch: senders and webhooks keep working meanwhile
        with store.session() as session:
            persons = (
                session.execute(select(Person).where(Person.id > last_id).order_by(Person.id).limit(BATCH))
                .scalars()
                .all()
            )
            for person in persons:
                person.phone_encrypted = vault.rotate(person.phone_encrypted)
        if not persons:
            break
        numbers, last_id = numbers + len(persons), persons[-1].id
    last_id = 0
    while True:
        with store.session() as session:
            inbound = (
                session.execute(
                    select(Message)
                    .where(Message.direction == Direction.IN, Message.id > last_id)
                    .order_by(Message.id)
                    .limit(BATCH)
                )
                .scalars()
                .all()
            )
            for message in inbound:
                message.body = vault.rotate(message.body)
        if not inbound:
            break
        texts, last_id = texts + len(inbound), inbound[-1].id
    addresses = last_id = 0
    while True:
        with store.session() as session:
            adverts = (
                session.execute(select(Advert).where(Advert.id > last_id).order_by(Advert.id).limit(BATCH))
                .scalars()
                .all()
            )
            for advert in adverts:
                advert.url_encrypted = vault.rotate(advert.url_encrypted)
        if not adverts:
            break
        addresses, last_id = addresses + len(adverts), adverts[-1].id
    with store.session() as session:
        audit.record(
            session, Event.KEYS_ROTATED, actor, numbers=numbers, message_texts=texts, advert_addresses=addresses
        )
    return RotationReport(numbers, texts, addresses)
