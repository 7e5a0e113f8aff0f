"""Selection and its stored reasons cost a fixed number of statements however many adverts are held or decided:
at the national scale (bench/national.py) a query per held advert and a table scan per batch of 500 reasons made
a cycle's cost grow faster than its adverts. What is stored must not change with it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine

from outreach.crypto import PhoneVault
from outreach.store.db import Store
from outreach.store.models import Advert, AdvertReason, Person, Site
from outreach.store.types import utcnow
from outreach.targeting.reasons import Reason
from outreach.targeting.selection import Decision, select_contacts, store_decisions
from tests.conftest import make_settings
from tests.targeting_world import make_advert, number

HOLD = {"keywords": {"hold": ["mijn baas"]}}


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_selection_reads_the_review_queue_once_however_many_adverts_are_held(
    database_url: str, keys: dict[str, str], tmp_path: Path
) -> None:
    settings = make_settings(database_url, keys, tmp_path, targeting=HOLD)
    vault = PhoneVault.from_settings(settings)
    now = utcnow()
    counted = []
    with Store(database_url) as store:
        for batch in range(2):
            with store.session() as session:
                for i in range(2 if batch == 0 else 12):
                    make_advert(session, vault, now, phone=number(100 * batch + i), text="Mijn baas belt je.")
            with store.session() as session:
                select_contacts(session, settings, now=now)  # the cycle that holds them
            with store.session() as session, statements(store.engine) as seen:
                selection = select_contacts(session, settings, now=now)
            counted.append(len(seen))
            assert {d.reason for d in selection.decisions} == {Reason.HELD}
        assert len(selection.decisions) == 14
    assert counted[0] == counted[1], counted


def test_the_reasons_of_many_adverts_are_stored_whole_and_replace_only_theirs(
    database_url: str, keys: dict[str, str], tmp_path: Path
) -> None:
    settings = make_settings(database_url, keys, tmp_path)
    vault = PhoneVault.from_settings(settings)
    now = utcnow()
    count = 1201  # more than one batch of ids on SQLite
    with Store(database_url) as store:
        with store.session() as session:
            session.execute(insert(Site), [{"name": "bench", "created_at": now}])
            site = session.execute(select(Site.id)).scalar_one()
            session.execute(
                insert(Advert),
                [
                    {
                        "id": i,
                        "site_id": site,
                        "site_ad_id": f"A{i}",
                        "url_encrypted": "-",
                        "url_key": f"key-{i}",
                        "content_hash": f"{i:064d}",
                        "first_seen": now,
                        "last_seen": now,
                    }
                    for i in range(1, count + 2)
                ],
            )
            session.execute(
                insert(Person),
                [
                    {
                        "id": i,
                        "key": vault.key(number(i)),
                        "phone_encrypted": vault.encrypt(number(i)),
                        "country": "NL",
                        "is_mobile": True,
                    }
                    for i in range(1, 4)
                ],
            )
            # From an earlier cycle: advert 1's reason is replaced, the last advert (not decided now) keeps its.
            store_decisions(
                session,
                [Decision(1, 1, Reason.CONTACTED), Decision(count + 1, None, Reason.NO_NUMBER)],
                now - timedelta(hours=1),
            )
        decisions = [
            Decision(1, 1, Reason.OPTED_OUT),
            Decision(1, 2, Reason.OTHER_ADVERT, "2"),
            Decision(2, 3, Reason.OUT_OF_REGION, "x" * 250),
            *(Decision(i, None, Reason.NO_NUMBER) for i in range(3, count + 1)),
            Decision(1, 1, Reason.MESSAGED),  # the same advert and person twice: the first one stays
        ]
        with store.session() as session, statements(store.engine) as seen:
            store_decisions(session, decisions, now)
        if store.engine.dialect.name == "postgresql":
            assert len(seen) == 2, seen  # one delete, one insert, whatever the number of adverts
        with store.session() as session:
            stored = {
                (row.advert_id, row.person_id): (row.reason, row.detail, row.decided_at)
                for row in session.execute(select(AdvertReason)).scalars()
            }
    assert len(stored) == count + 2
    assert stored[(1, 1)] == (Reason.OPTED_OUT.value, None, now)
    assert stored[(1, 2)] == (Reason.OTHER_ADVERT.value, "2", now)
    assert stored[(2, 3)] == (Reason.OUT_OF_REGION.value, "x" * 200, now)
    assert stored[(count, None)] == (Reason.NO_NUMBER.value, None, now)
    assert stored[(count + 1, None)] == (Reason.NO_NUMBER.value, None, now - timedelta(hours=1))
