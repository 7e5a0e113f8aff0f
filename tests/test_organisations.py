"""Several organisations under one umbrella (Rotterdam and The Hague): an advert goes to the organisation whose
region holds its city, signed and sent from that organisation's number; one person is contacted once per window
across both; replies and opt-outs are routed to the organisation that wrote; an opt-out with one is honoured by the
other; each member sees only their own organisation's log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from outreach.cli import run
from outreach.cycle.run import run_cycle
from outreach.parsing.places import municipality
from outreach.people.inbound import Inbound, receive
from outreach.store.models import Message
from tests.conftest import World
from tests.messaging_world import config_file, messaging_settings
from tests.targeting_world import number
from tests.test_contact_rhythm import Rhythm

ROTTERDAM = {
    "key": "rotterdam",
    "name": "Rotterdam Hulp",
    "fieldworker": "Sanne",
    "municipalities": ["Rotterdam", "Schiedam", "Vlaardingen"],
    "from_number": "+15555550111",
    "members": ["alice"],
}
THE_HAGUE = {
    "key": "den-haag",
    "name": "Haagse Hulp",
    "fieldworker": "Noor",
    "municipalities": ["The Hague", "Rijswijk", "Delft"],
    "from_number": "+15555550122",
    "members": ["carol"],
}
ORGANISATIONS: list[dict[str, Any]] = [ROTTERDAM, THE_HAGUE]


def _organisation_of(city: str) -> dict[str, Any] | None:
    place = municipality(city)
    return next((o for o in ORGANISATIONS if place in {municipality(m) for m in o["municipalities"]}), None)


def test_a_cycle_routes_each_advert_to_its_organisation_and_contacts_a_person_once(world: World) -> None:
    settings = world.cycle_settings(organisations=ORGANISATIONS)
    generated = world.site.generated
    eligible = generated.eligible(set(settings.mobile_countries))
    serving: dict[str, set[str]] = {}  # number -> the organisations whose region one of its adverts is in
    for ad in generated.adverts:
        organisation = _organisation_of(ad.city)
        if ad.phone in eligible and organisation is not None:
            serving.setdefault(ad.phone, set()).add(organisation["key"])
    both = [number for number, keys_ in serving.items() if len(keys_) == 2]
    assert both  # the fixture world has people advertising in both regions: the shared rule is exercised

    run_cycle(settings, actor="alice")

    sent = world.gateway.sent_to()
    assert set(sent) == set(serving)
    for phone, messages in sent.items():
        assert len(messages) == 1, phone  # once, across both organisations
        organisation = next(o for o in ORGANISATIONS if o["from_number"] == messages[0].from_)
        assert organisation["key"] in serving[phone]
        assert organisation["name"] in messages[0].body
    senders = {m[0].from_ for m in sent.values()}
    assert senders == {ROTTERDAM["from_number"], THE_HAGUE["from_number"]}


def test_replies_and_opt_outs_are_routed_shared_and_each_member_sees_their_own_log(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = messaging_settings(
        world, language={"detector": "py3langid"}, organisations=ORGANISATIONS, umbrella_supervisors=["bob"]
    )
    rhythm = Rhythm(world, settings)
    replier = rhythm.advert(0, 1, city="Rotterdam-Zuid")
    stopper = rhythm.advert(0, 2, city="Scheveningen")
    mover = rhythm.advert(0, 3, city="Vlaardingen")
    rhythm.at(0)
    # Inside the window, a new advert in the other region brings no message from the other organisation.
    moved_early = rhythm.advert(3, 3, city="Rijswijk")
    rhythm.at(3)
    assert len(rhythm.gateway.sent_to()[number(3)]) == 1
    assert rhythm.reason(moved_early)[0] == "contacted" and rhythm.reason(mover)[0] == "contacted"
    sent = rhythm.gateway.sent_to()
    assert sent[number(1)][0].from_ == ROTTERDAM["from_number"]
    assert sent[number(2)][0].from_ == THE_HAGUE["from_number"]

    # The first person writes back: the reply is Rotterdam's. The second sends STOP to The Hague.
    with rhythm.store.session() as session:
        receive(session, rhythm.vault, settings, Inbound("SMin1", number(1), "Hoi, wie is dit?"))
        receive(session, rhythm.vault, settings, Inbound("SMin2", number(2), "STOPPEN"))
    with rhythm.store.session() as session:
        inbound = dict(
            session.execute(select(Message.person_id, Message.organisation).where(Message.direction == "in")).all()
        )
        confirmation = session.execute(
            select(Message.organisation, Message.body).where(Message.kind == "opt_out_confirmation")
        ).one()
    assert inbound == {replier.person_id: "rotterdam", stopper.person_id: "den-haag"}
    assert confirmation[0] == "den-haag" and "Haagse Hulp" in confirmation[1]

    # Both advertise again, each now in the other organisation's region, after the re-contact window.
    moved_replier = rhythm.advert(200, 1, city="Delft")
    moved_stopper = rhythm.advert(200, 2, city="Schiedam")
    rhythm.at(200)
    assert len(rhythm.gateway.sent_to()[number(1)]) == 1  # a fieldworker's conversation, for every organisation
    confirmed = rhythm.gateway.sent_to()[number(2)][1:]
    assert [(m.from_, m.body) for m in confirmed] == [(THE_HAGUE["from_number"], confirmation[1])]
    assert rhythm.reason(moved_replier) == ("replied", None)
    assert rhythm.reason(moved_stopper) == ("opted_out", None)
    # The third person's Rijswijk advert (day 3) is newer than the contact: after the window, The Hague writes.
    assert [m.from_ for m in rhythm.gateway.sent_to()[number(3)]] == [
        ROTTERDAM["from_number"],
        THE_HAGUE["from_number"],
    ]

    config = config_file(settings, tmp_path)
    capsys.readouterr()
    seen: dict[str, set[str]] = {}
    for actor in ("alice", "carol", "bob"):
        assert run(["log", "--json", "--as", actor, "--config", config]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        seen[actor] = {row["number"][-3:] for row in rows}
    assert seen["alice"] == {number(1)[-3:], number(3)[-3:]}
    assert seen["carol"] == {number(2)[-3:], number(3)[-3:]}
    assert seen["bob"] == {number(1)[-3:], number(2)[-3:], number(3)[-3:]}
    assert run(["log", "--as", "dave", "--config", config]) == 1
    assert "not a member of any organisation" in capsys.readouterr().err
    # The stats count the same way: each member their own organisation's contacts, the umbrella all.
    totals = {}
    for actor in ("alice", "carol", "bob"):
        assert run(["stats", "--json", "--since", "3650d", "--as", actor, "--config", config]) == 0
        (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        totals[actor] = (row["persons_contacted"], row["replied"], row["opted_out"])
    assert totals == {"alice": (2, 1, 0), "carol": (2, 0, 1), "bob": (3, 1, 1)}
    assert run(["stats", "--by", "template", "--as", "alice", "--config", config]) == 1
    assert "umbrella supervisors only" in capsys.readouterr().err
