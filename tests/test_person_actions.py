"""Person actions in the browser (TestClient, SQLite and PostgreSQL): resend by hand with the same refusals as
`outreach resend`, and a supervisor lifting a block or an opt-out from the person's page, both audited."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from outreach.crypto import PhoneVault
from outreach.people import optouts
from outreach.store.models import Message, OptOut, Person
from outreach.store.states import Direction, StopKind
from outreach.store.types import utcnow
from outreach.web.app import create_app
from tests.conftest import World
from tests.dashboard_world import add_users, client_for, log_in, page_csrf, seed
from tests.messaging_world import audit_count, messaging_settings


def test_resend_is_refused_inside_the_window_unless_a_supervisor_forces_it(world: World) -> None:
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://testserver", "language": "en"})
    store = world.store()
    add_users(store)
    seeded = seed(settings, store, count=2)
    person, number = seeded.person_ids[1], seeded.numbers[1]
    with store.session() as session:
        first = session.execute(
            select(Message.id).where(Message.person_id == person, Message.direction == Direction.OUT)
        ).scalar_one()
        contacted = session.get(Person, person)
        assert contacted is not None
        contacted.last_contacted_at = utcnow()  # the first contact, as a cycle records it
    app = create_app(settings)
    with client_for(app) as alice, client_for(app) as bob:
        log_in(alice, "alice")
        csrf = page_csrf(alice, f"/persons/{person}")
        assert 'id="resend"' in alice.get(f"/persons/{person}").text
        data = {"csrf": csrf, "message": str(first), "reason": "wrong template"}
        refused = alice.post(f"/persons/{person}/resend", data=data)
        assert refused.status_code == 400 and "inside the re-contact window" in refused.text
        assert alice.post(f"/persons/{person}/resend", data={**data, "force": "yes"}).status_code == 403
        assert alice.post(f"/persons/{person}/resend", data={**data, "reason": ""}).status_code == 400
        assert alice.post(f"/persons/{person}/resend", data={**data, "message": "999999"}).status_code == 404
        assert len(world.gateway.sent_to()[number]) == 1
        log_in(bob, "bob")
        forced = bob.post(
            f"/persons/{person}/resend", data={**data, "csrf": page_csrf(bob, f"/persons/{person}"), "force": "yes"}
        )
        assert forced.status_code == 303
        assert len(world.gateway.sent_to()[number]) == 2  # sent at once
    assert audit_count(store, "message.resend") == 1


def test_a_supervisor_lifts_a_block_from_the_persons_page(world: World) -> None:
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://testserver", "language": "en"})
    store = world.store()
    add_users(store)
    seeded = seed(settings, store, count=2)
    person, number = seeded.person_ids[1], seeded.numbers[1]
    with store.session() as session:
        optouts.stop(
            session,
            PhoneVault.from_settings(settings).key(number),
            kind=StopKind.BLOCK,
            source="dashboard",
            actor="bob",
            reason="wrong number",
        )
        stop = session.execute(select(OptOut.id)).scalar_one()
    app = create_app(settings)
    with client_for(app) as alice, client_for(app) as bob:
        log_in(alice, "alice")
        assert f'id="lift-{stop}"' not in alice.get(f"/persons/{person}").text  # supervisors only
        forged = alice.post(
            "/stops/remove", data={"csrf": page_csrf(alice), "stop": str(stop), "reason": "x", "next": "/"}
        )
        assert forged.status_code == 403
        log_in(bob, "bob")
        page = bob.get(f"/persons/{person}").text
        assert re.search(rf'id="lift-{stop}"', page) and 'id="resend"' not in page  # blocked: no resend form
        lifted = bob.post(
            "/stops/remove",
            data={
                "csrf": page_csrf(bob),
                "stop": str(stop),
                "reason": "the block was a mistake",
                "next": f"/persons/{person}",
            },
        )
        assert (lifted.status_code, lifted.headers["location"]) == (303, f"/persons/{person}")
    with store.session() as session:
        assert session.execute(select(func.count(OptOut.id))).scalar_one() == 0
    assert audit_count(store, "person.un_block") == 1
