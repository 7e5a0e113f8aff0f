"""Held adverts in the browser (TestClient, SQLite and PostgreSQL): listed with masked numbers and the rule;
approved (the first message queued through the cycle's path, then handed to the gateway by the outbox) or
rejected, always with a reason and audited, as `outreach review` does."""

from __future__ import annotations

from sqlalchemy import select

from outreach.access.users import add_user
from outreach.crypto import PhoneVault
from outreach.store.db import Store, upgrade
from outreach.store.models import AuditEvent, HeldAdvert, Message
from outreach.store.types import utcnow
from outreach.targeting.selection import select_contacts, store_decisions
from outreach.web.app import create_app
from tests.conftest import World
from tests.dashboard_world import PASSWORDS, client_for, log_in, page_csrf
from tests.messaging_world import outbox_for
from tests.targeting_world import make_advert, number

HOLD = "Ik ben 17 jaar en nieuw hier. Bel voor een afspraak."


def test_a_held_advert_is_listed_approved_and_its_person_messaged(world: World) -> None:
    world.gateway.callbacks = "none"  # its status callbacks would go to https://testserver
    settings = world.settings(
        targeting={"keywords": {"hold": ["17 jaar", "mijn baas"]}},
        language={"detector": "py3langid"},
        web={"public_url": "https://testserver", "language": "en"},
        twilio=world.gateway.twilio_settings(),
    )
    upgrade(world.database_url)
    vault = PhoneVault.from_settings(settings)
    now = utcnow()
    with Store(settings.database_url) as store:
        with store.session() as session:
            minor = make_advert(session, vault, now, phone=number(1), text=HOLD)
            boss = make_advert(session, vault, now, phone=number(2), text="Mijn baas regelt de afspraak.")
            for name, password in PASSWORDS.items():
                add_user(session, name, "supervisor" if name == "bob" else "fieldworker", password, actor="test")
        with store.session() as session:
            store_decisions(session, select_contacts(session, settings, now=now).decisions, now)
        with store.session() as session:
            held = {advert: held_id for advert, held_id in session.execute(select(HeldAdvert.advert_id, HeldAdvert.id))}
        with client_for(create_app(settings)) as client:
            log_in(client, "alice")
            page = client.get("/review").text
            assert "2 wait for a decision" in page and "keyword: 17 jaar" in page
            assert number(1) not in page and number(1)[-3:] in page  # masked, but tellable apart
            csrf = page_csrf(client, "/review")
            no_reason = client.post(f"/review/{held[boss.advert_id]}", data={"csrf": csrf, "decision": "approve"})
            assert no_reason.status_code == 400
            assert (
                client.post("/review/999999", data={"csrf": csrf, "decision": "reject", "reason": "x"}).status_code
                == 404
            )
            rejected = client.post(
                f"/review/{held[minor.advert_id]}",
                data={"csrf": csrf, "decision": "reject", "reason": "suggests a minor: to the team"},
            )
            assert rejected.headers["location"].startswith("/review?decided=rejected")
            approved = client.post(
                f"/review/{held[boss.advert_id]}",
                data={"csrf": csrf, "decision": "approve", "reason": "read it: she rents a room"},
            )
            assert approved.headers["location"] == "/review?decided=approved&queued=1"
            assert "1 message queued" in client.get(approved.headers["location"]).text
        with store.session() as session:
            queued = session.execute(select(Message.person_id, Message.status)).all()
            events = session.execute(
                select(AuditEvent.name, AuditEvent.actor).where(AuditEvent.name.like("review.%"))
            ).all()
        assert queued == [(boss.person_id, "queued")]
        assert events == [("review.rejected", "alice"), ("review.approved", "alice")]
        outbox_for(settings, store).drain()
        assert number(2) in world.gateway.sent_to() and number(1) not in world.gateway.sent_to()
