"""Subject requests and the retention purge: everything about a number can be shown or removed, and the opt-out
key always stays, so nobody erased or purged is ever contacted again."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from outreach.cli import run
from outreach.cycle.run import run_cycle
from outreach.people.privacy import purge
from outreach.store.db import Store
from outreach.store.models import Advert, Message, OptOut, Person, Site
from outreach.store.types import utcnow
from tests.conftest import World
from tests.messaging_world import config_file


def _count(store: Store, model: type) -> int:
    with store.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_subject_is_exported_then_erased_and_never_contacted_again(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = world.cycle_settings()
    run_cycle(settings, actor="alice")
    number = min(n for n in world.gateway.sent_to() if n.startswith("+316"))  # a Dutch mobile
    national = "0" + number[3:]  # typed the Dutch way: 06...
    config = config_file(settings, tmp_path)
    capsys.readouterr()
    assert run(["subject", "export", national, "--config", config]) == 1  # supervisors only: it holds addresses
    capsys.readouterr()
    assert run(["subject", "export", national, "--config", config, "--as", "bob"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["number"] == number and exported["person"] is not None
    # The person's own data includes where it was found: the addresses in full, decrypted (stored encrypted).
    assert all(a["url"].startswith(world.site.url + "/") for a in exported["adverts"])
    assert exported["adverts"] and [m["direction"] for m in exported["messages"]] == ["out"]
    assert run(["subject", "erase", national, "--config", config]) == 2  # a reason is required
    assert run(["subject", "erase", national, "--reason", "request 1", "--config", config]) == 0
    store = world.store()
    with store.session() as session:
        keys = list(session.execute(select(OptOut.source)).scalars())
        persons = session.execute(select(func.count()).select_from(Person)).scalar_one()
    assert keys == ["erasure"]
    capsys.readouterr()
    assert run(["subject", "export", number, "--config", config, "--as", "bob"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["person"] is None and after["adverts"] == [] and after["messages"] == []
    assert len(after["opt_outs"]) == 1
    # The advert is still online: the next full listing walk finds the number again (the erased advert is new to
    # it), and the opt-out key stops it.
    with store.session() as session:
        session.execute(update(Site).values(last_full_walk_at=None))
    sent_before = len(world.gateway.messages)
    run_cycle(settings, actor="alice")
    assert len(world.gateway.messages) == sent_before
    with store.session() as session:
        assert session.execute(select(func.count()).select_from(Person)).scalar_one() == persons + 1


def test_the_purge_removes_what_retention_no_longer_allows_and_keeps_opt_outs(world: World) -> None:
    settings = world.cycle_settings()
    run_cycle(settings, actor="alice")
    store = world.store()
    with store.session() as session:
        session.add(OptOut(person_key="k" * 64, kind="block", source="cli", actor="bob"))
    adverts, persons, messages = _count(store, Advert), _count(store, Person), _count(store, Message)
    contacted = len(world.gateway.sent_to())
    with store.session() as session:
        soon = purge(session, settings.retention, utcnow() + timedelta(days=31), "retention")
    assert soon.adverts == adverts and soon.messages == 0
    assert soon.uncontacted_persons == persons - contacted  # the contacted ones are kept for the re-contact window
    with store.session() as session:
        late = purge(session, settings.retention, utcnow() + timedelta(days=366), "retention")
    assert late.messages == messages and late.persons == contacted
    assert (_count(store, Advert), _count(store, Person), _count(store, Message)) == (0, 0, 0)
    assert _count(store, OptOut) == 1
