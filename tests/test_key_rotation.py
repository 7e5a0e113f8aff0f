"""`outreach keys rotate`: afterwards the new key alone reads every number and reply, the old one nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from outreach.cli import run
from outreach.crypto import PhoneVault, new_keys
from outreach.errors import ConfigError
from outreach.people.inbound import Inbound, receive
from outreach.store.models import Advert, Message, Person
from outreach.store.types import utcnow
from tests.conftest import World
from tests.messaging_world import messaging_settings, numbers, queue
from tests.targeting_world import make_advert


def test_rotation_re_encrypts_everything_under_the_new_key(world: World, tmp_path: Path) -> None:
    settings = messaging_settings(world)
    store, old = world.store(), PhoneVault.from_settings(settings)
    people = numbers(3)
    for number in people:
        queue(store, old, number)
    with store.session() as session:
        receive(session, old, settings, Inbound("SM" + "e" * 32, people[0], "Hoi, wanneer is het spreekuur?"))
        make_advert(session, old, utcnow(), phone=people[1])  # its address is encrypted too
    _, new_key = new_keys()
    config = tmp_path / "rotate.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database_url": world.database_url,
                "hmac_key": world.keys["hmac_key"],
                "fernet_key": new_key,
                "fernet_previous_keys": [world.keys["fernet_key"]],
            }
        ),
        encoding="utf-8",
    )
    config.chmod(0o600)  # it holds the keys
    assert run(["keys", "rotate", "--config", str(config)]) == 0
    only_new = PhoneVault(world.keys["hmac_key"], new_key)
    with store.session() as session:
        stored = list(session.execute(select(Person.phone_encrypted).order_by(Person.id)).scalars())
        reply = session.execute(select(Message.body).where(Message.direction == "in")).scalar_one()
        addresses = list(session.execute(select(Advert.url_encrypted)).scalars())
    assert [only_new.decrypt(token) for token in stored] == people
    assert addresses and all(only_new.decrypt(token).startswith("http") for token in addresses)
    assert only_new.decrypt(reply) == "Hoi, wanneer is het spreekuur?"
    with pytest.raises(ConfigError, match="wrong key"):
        PhoneVault(world.keys["hmac_key"], world.keys["fernet_key"]).decrypt(stored[0])
