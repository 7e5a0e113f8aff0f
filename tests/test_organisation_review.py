"""`outreach review` with several organisations: a member sees and decides only their own organisation's held
adverts (by the advert's region, as routing decides); an umbrella supervisor sees and decides all."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.access.masking import mask
from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.store.db import Store, upgrade
from outreach.store.models import AuditEvent, HeldAdvert, Message
from outreach.store.types import utcnow
from tests.conftest import World
from tests.messaging_world import config_file
from tests.targeting_world import make_advert, number
from tests.test_organisations import ROTTERDAM, THE_HAGUE
from tests.test_review import HOLD, _cycle_selection, _held_id


def test_a_member_reviews_only_their_own_organisations_held_adverts(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = world.settings(
        targeting={"keywords": {"hold": ["17 jaar"]}},
        language={"detector": "py3langid"},
        organisations=[ROTTERDAM, THE_HAGUE],
        umbrella_supervisors=["bob"],
    )
    upgrade(world.database_url)
    vault = PhoneVault.from_settings(settings)
    with Store(settings.database_url) as store:
        with store.session() as session:
            # Written as advertisers write them: a district of Rotterdam, a part of The Hague.
            rotterdam = make_advert(session, vault, utcnow(), phone=number(1), city="Rotterdam-Zuid", text=HOLD)
            hague = make_advert(session, vault, utcnow(), phone=number(2), city="Scheveningen", text=HOLD)
        _cycle_selection(settings, store)
        config = config_file(settings, tmp_path)
        rotterdam_id, hague_id = _held_id(store, rotterdam), _held_id(store, hague)
        capsys.readouterr()

        listings = {}
        for actor in ("alice", "carol", "bob"):
            assert run(["review", "--as", actor, "--config", config]) == 0
            listings[actor] = capsys.readouterr().out
        assert "1 held advert(s) waiting" in listings["alice"] and "Rotterdam-Zuid" in listings["alice"]
        assert "Scheveningen" not in listings["alice"] and mask(number(2)) not in listings["alice"]
        assert "1 held advert(s) waiting" in listings["carol"] and "Scheveningen" in listings["carol"]
        assert "Rotterdam-Zuid" not in listings["carol"] and mask(number(1)) not in listings["carol"]
        assert mask(number(1)) in listings["alice"] and mask(number(2)) in listings["carol"]
        assert "2 held advert(s) waiting" in listings["bob"]
        assert run(["review", "--as", "dave", "--config", config]) == 1
        assert "not a member of any organisation" in capsys.readouterr().err

        # Alice may not decide on The Hague's advert, either way; nothing changes and nothing is queued.
        for verb in ("approve", "reject"):
            assert run(["review", verb, str(hague_id), "--reason", "x", "--as", "alice", "--config", config]) == 1
            err = capsys.readouterr().err
            assert err == f"error: held advert {hague_id} is another organisation's to decide on\n"
        with store.session() as session:
            assert session.get_one(HeldAdvert, hague_id).status == "pending"
            assert session.execute(select(AuditEvent.id).where(AuditEvent.name.like("review.%"))).first() is None

        # Her own: approved and queued as Rotterdam's; the umbrella supervisor decides on The Hague's.
        assert (
            run(["review", "approve", str(rotterdam_id), "--reason", "adult", "--as", "alice", "--config", config]) == 0
        )
        assert "1 message(s) queued" in capsys.readouterr().out
        assert run(["review", "reject", str(hague_id), "--reason", "minor", "--as", "bob", "--config", config]) == 0
        with store.session() as session:
            queued = session.execute(select(Message.person_id, Message.organisation)).all()
            statuses = dict(session.execute(select(HeldAdvert.id, HeldAdvert.status)).all())
        assert queued == [(rotterdam.person_id, "rotterdam")]
        assert statuses == {rotterdam_id: "approved", hague_id: "rejected"}
