"""The dashboard's test world: users `alice` (fieldworker) and `bob` (supervisor), adverts stored and messaged
through the real code paths (store, outbox, Twilio test gateway), one advert and one reply carrying HTML payloads,
and drafted first contacts for the approve and assist modes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx2
from sqlalchemy import select
from starlette.testclient import TestClient

from messaging.outbox.enqueue import queue_message
from outreach.access.users import add_user
from outreach.crypto import PhoneVault
from outreach.people.inbound import Inbound, receive
from outreach.settings import Settings
from outreach.store.adverts import FoundAdvert, FoundPhone, person_id, save_advert, site_id
from outreach.store.db import Store
from outreach.store.models import AdvertPerson, Case, Message
from outreach.store.states import MessageStatus
from outreach.store.types import utcnow
from tests.messaging_world import BODY, numbers, outbox_for

PASSWORDS = {"alice": "alice-field-password", "bob": "bob-supervisor-password"}
ROLES = {"alice": "fieldworker", "bob": "supervisor"}
# Script tags, event-handler attributes and broken HTML, as an advert or a reply might carry them.
XSS_TITLE = "<img src=x onerror=\"alert('title')\">Anna"
XSS_TEXT = '<script>alert("advert")</script>Hallo <b onmouseover=alert(2)>schat</b> <div class="x <p>kapot</textarea>'
XSS_REPLY = "<script>alert('reply')</script><img src=x onerror=alert(4)> hoi </td></tr><!--"
DRAFT_BODY = "Hoi, ik ben Sanne van Demo Outreach. Wij helpen gratis. Geen berichten meer? Antwoord STOP."
CITIES = ("Amsterdam", "Rotterdam", "Utrecht")
LANGUAGES = ("nl", "ro")


@dataclass(frozen=True)
class Seeded:
    numbers: list[str]
    advert_ids: list[int]
    person_ids: list[int]
    xss_advert_id: int
    replier_id: int  # the person who wrote back (XSS_REPLY)
    replier_case_id: int  # the case their reply opened


def add_users(store: Store) -> None:
    with store.session() as session:
        for name, role in ROLES.items():
            add_user(session, name, role, PASSWORDS[name], actor="test")


def seed(
    settings: Settings, store: Store, count: int = 6, inbound_url: str | None = None, gateway: Any = None
) -> Seeded:
    """`count` adverts on two sites, each with its own person, a first-contact message each sent through the
    outbox to the gateway, and a reply from the first person (by the webhook when inbound_url is given)."""
    vault = PhoneVault.from_settings(settings)
    phones = numbers(count, start=100)
    now = utcnow()
    advert_ids, person_ids = [], []
    with store.session() as session:
        for i, number in enumerate(phones):
            site = "kinky" if i % 2 == 0 else "rentboy"
            xss = i == 0
            result = save_advert(
                session,
                vault,
                FoundAdvert(
                    site=site,
                    site_ad_id=f"ad-{i}",
                    url=f"http://127.0.0.1/ads/{i}",
                    title=XSS_TITLE if xss else f"Advert {i}",
                    text=XSS_TEXT if xss else f"Lieve groet van advert {i}",
                    city=CITIES[i % len(CITIES)],
                    category="escort",
                    has_whatsapp=False,
                    content_hash=f"hash-{i}",
                    phones=[FoundPhone(number, "NL", True)],
                ),
                None,
                now,
                site_id(session, site),
            )
            advert_ids.append(result.advert_id)
        for advert_id in advert_ids:
            pid = session.execute(
                select(AdvertPerson.person_id).where(AdvertPerson.advert_id == advert_id)
            ).scalar_one()
            person_ids.append(pid)
            queue_message(
                session,
                actor="cycle",
                now=now,
                person_id=pid,
                advert_id=advert_id,
                channel="sms",
                kind="first_contact",
                body=BODY,
                language=LANGUAGES[len(person_ids) % 2],
            )
    outbox_for(settings, store).drain()
    if inbound_url is not None and gateway is not None:
        assert gateway.inbound(inbound_url, phones[0], XSS_REPLY) == 200
    else:
        with store.session() as session:
            receive(session, vault, settings, Inbound("SM" + "7" * 32, phones[0], XSS_REPLY))
    with store.session() as session:
        case_id = session.execute(select(Case.id).where(Case.person_id == person_ids[0])).scalar_one()
    return Seeded(phones, advert_ids, person_ids, advert_ids[0], person_ids[0], case_id)


def add_drafts(settings: Settings, store: Store, count: int, start: int) -> tuple[list[int], list[str]]:
    """`count` drafted first contacts (DRAFT_BODY, Dutch, 93% sure), each to a new person; their message ids and
    numbers (tests.messaging_world.numbers(count, start))."""
    vault = PhoneVault.from_settings(settings)
    phones = numbers(count, start=start)
    drafts = []
    with store.session() as session:
        for number in phones:
            pid = person_id(session, vault, FoundPhone(number, "NL", True), utcnow())
            message = Message(
                person_id=pid, body=DRAFT_BODY, language="nl", language_confidence=0.93, status=MessageStatus.DRAFT
            )
            session.add(message)
            session.flush()
            drafts.append(message.id)
    return drafts, phones


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found[1]


def client_for(app: Any, address: str = "testclient") -> TestClient:
    # https: the session cookie is Secure and would not be sent over plain http. address: the TCP peer.
    return TestClient(app, base_url="https://testserver", follow_redirects=False, client=(address, 50000))


def log_in(client: TestClient, name: str, password: str | None = None) -> httpx2.Response:
    page = client.get("/login")
    return client.post(
        "/login", data={"csrf": csrf_of(page.text), "name": name, "password": password or PASSWORDS[name]}
    )


def page_csrf(client: TestClient, path: str = "/log") -> str:
    return csrf_of(client.get(path).text)
