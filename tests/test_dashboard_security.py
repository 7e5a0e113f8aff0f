"""The dashboard's guards, through Starlette's TestClient on SQLite and PostgreSQL: log-in and sessions, rate
limiting, who may see and do what, CSRF on every form, security headers, and no number where it should not be."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from outreach.access.users import (
    MAX_FAILURES_PER_CLIENT,
    MAX_FAILURES_PER_USER,
    PAIR_FREE_FAILURES,
    hash_token,
    pair_delay,
)
from outreach.crypto import PhoneVault
from outreach.settings import MemberOrganisation
from outreach.store.db import Store
from outreach.store.models import Advert, AuditEvent, LoginFailure, Message, OptOut, Person, User, WebSession
from outreach.store.types import utcnow
from outreach.web.app import create_app
from outreach.web.dashboard.core import SESSION_COOKIE
from outreach.web.dashboard.login import DEVICE_COOKIE
from tests.conftest import World
from tests.dashboard_world import (
    PASSWORDS,
    XSS_REPLY,
    XSS_TEXT,
    Seeded,
    add_users,
    client_for,
    csrf_of,
    log_in,
    page_csrf,
    seed,
)
from tests.messaging_world import audit_count, messaging_settings


@dataclass
class Dashboard:
    store: Store
    vault: PhoneVault
    seeded: Seeded
    client: TestClient


@pytest.fixture
def dashboard(world: World) -> Iterator[Dashboard]:
    """The dashboard's test world (tests/dashboard_world.py) behind a TestClient."""
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://testserver", "language": "en"})
    store = world.store()
    add_users(store)
    seeded = seed(settings, store)
    with client_for(create_app(settings)) as client:
        yield Dashboard(store, PhoneVault.from_settings(settings), seeded, client)


def _count(store: Store, model: type, *where: object) -> int:
    with store.session() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()  # type: ignore[arg-type]


# Every page and action, and who may use it.
PAGES = ["/", "/log", "/log.csv", "/cases", "/cases/{case}", "/adverts/{advert}", "/persons/{person}"]
SUPERVISOR_PAGES = ["/stops", "/audit"]
SUPERVISOR_ACTIONS = ["/persons/{person}/reveal", "/adverts/{advert}/reveal", "/stops/add", "/stops/remove"]
ACTIONS = [
    "/log",
    "/persons/{person}/block",
    "/cases/{case}/reply",
    "/cases/{case}/close",
    "/logout",
    "/language",
]


def _path(template: str, seeded: Seeded) -> str:
    return template.format(advert=seeded.xss_advert_id, person=seeded.replier_id, case=seeded.replier_case_id)


def test_it_sends_anonymous_visitors_to_the_log_in_page_and_refuses_their_forms(dashboard: Dashboard) -> None:
    for template in PAGES + SUPERVISOR_PAGES:
        response = dashboard.client.get(_path(template, dashboard.seeded))
        assert response.status_code == 303 and response.headers["location"] == "/login", template
    for template in ACTIONS + SUPERVISOR_ACTIONS:
        response = dashboard.client.post(
            _path(template, dashboard.seeded), data={"csrf": "x", "reason": "r", "body": "b"}
        )
        assert response.status_code == 403, template
    assert _count(dashboard.store, OptOut) == 0


def test_a_fieldworker_gets_403_on_supervisor_pages_and_actions_and_nothing_changes(dashboard: Dashboard) -> None:
    assert log_in(dashboard.client, "alice").status_code == 303
    for template in PAGES:
        assert dashboard.client.get(_path(template, dashboard.seeded)).status_code == 200, template
    for template in SUPERVISOR_PAGES:
        assert dashboard.client.get(_path(template, dashboard.seeded)).status_code == 403, template
    csrf = page_csrf(dashboard.client)
    events = _count(dashboard.store, AuditEvent)
    for template in SUPERVISOR_ACTIONS:
        response = dashboard.client.post(
            _path(template, dashboard.seeded),
            data={"csrf": csrf, "reason": "test", "number": dashboard.seeded.numbers[1], "kind": "block", "stop": "1"},
        )
        assert response.status_code == 403, template
        assert dashboard.seeded.numbers[1] not in response.text
    assert _count(dashboard.store, OptOut) == 0
    assert _count(dashboard.store, AuditEvent) == events
    # The supervisor may.
    dashboard.client.cookies.clear()
    log_in(dashboard.client, "bob")
    for template in PAGES + SUPERVISOR_PAGES:
        assert dashboard.client.get(_path(template, dashboard.seeded)).status_code == 200, template


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_a_form_without_the_right_csrf_token_gets_403_and_changes_nothing(
    dashboard: Dashboard, token: str | None
) -> None:
    log_in(dashboard.client, "bob")
    events = _count(dashboard.store, AuditEvent)
    replies = _count(dashboard.store, Message, Message.direction == "out")
    person, case = _path("{person}", dashboard.seeded), dashboard.seeded.replier_case_id
    for path, data in [
        (f"/persons/{person}/reveal", {}),
        (f"/persons/{person}/block", {"reason": "csrf test"}),
        (f"/cases/{case}/reply", {"body": "Hoi, Demo Outreach hier."}),
        (f"/cases/{case}/close", {}),
        ("/stops/add", {"number": dashboard.seeded.numbers[2], "kind": "block", "reason": "csrf test"}),
        ("/log", {"number": dashboard.seeded.numbers[2]}),
        ("/logout", {}),
    ]:
        if token is not None:
            data = {**data, "csrf": token}
        response = dashboard.client.post(path, data=data)
        assert response.status_code == 403, path
        assert dashboard.seeded.numbers[0] not in response.text and dashboard.seeded.numbers[2] not in response.text
    assert _count(dashboard.store, OptOut) == 0
    assert _count(dashboard.store, AuditEvent) == events
    assert _count(dashboard.store, Message, Message.direction == "out") == replies
    with dashboard.store.session() as session:
        assert session.get(Person, dashboard.seeded.replier_id).needs_fieldworker_since is not None  # type: ignore[union-attr]
    assert dashboard.client.get("/log").status_code == 200  # still logged in: logout without a token did nothing


def test_the_log_in_form_needs_its_own_token(dashboard: Dashboard) -> None:
    dashboard.client.get("/login")
    response = dashboard.client.post("/login", data={"csrf": "forged", "name": "bob", "password": PASSWORDS["bob"]})
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies
    assert _count(dashboard.store, WebSession) == 0


def test_a_session_is_a_secure_http_only_strict_cookie_whose_token_is_stored_only_hashed(dashboard: Dashboard) -> None:
    response = log_in(dashboard.client, "bob")
    assert response.status_code == 303
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "samesite=strict"} <= flags
    token = cookie.split(";")[0].split("=", 1)[1]
    with dashboard.store.session() as session:
        stored = session.execute(select(WebSession.token_hash)).scalars().all()
        user = session.execute(select(User).where(User.name == "bob")).scalar_one()
    assert stored == [hash_token(token)] and token not in stored
    assert user.password_hash.startswith("$argon2id$") and PASSWORDS["bob"] not in user.password_hash
    # Log out: the session is gone from the database; the old cookie no longer works.
    assert dashboard.client.post("/logout", data={"csrf": page_csrf(dashboard.client)}).status_code == 303
    assert _count(dashboard.store, WebSession) == 0
    dashboard.client.cookies.set(SESSION_COOKIE, token)
    assert dashboard.client.get("/log").status_code == 303


def test_an_expired_or_idle_session_is_refused(dashboard: Dashboard) -> None:
    log_in(dashboard.client, "alice")
    assert dashboard.client.get("/log").status_code == 200
    with dashboard.store.session() as session:
        session.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(hours=2)))
    assert dashboard.client.get("/log").status_code == 303
    log_in(dashboard.client, "alice")
    with dashboard.store.session() as session:
        session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert dashboard.client.get("/log").status_code == 303


def _backdate_failures(store: Store, seconds: int) -> None:
    """As if the failures so far happened `seconds` earlier: the growing delays are waited out, not slept."""
    with store.session() as session:
        for failure in session.execute(select(LoginFailure)).scalars():
            failure.created_at -= timedelta(seconds=seconds)


def test_log_in_failures_slow_a_name_and_address_pair_with_growing_delays(dashboard: Dashboard) -> None:
    for _ in range(PAIR_FREE_FAILURES):
        failed_at = time.monotonic()
        assert log_in(dashboard.client, "alice", "wrong password!").status_code == 401
    # Now each try waits: the right password too is refused unchecked, and the wait doubles with every failure.
    # Retry-After is what is left of the delay, rounded up: on a busy machine the time between the failure and the
    # next try (measured here, at most) may already have used part of it.
    for delay in (1, 2, 4, 8):
        refused = log_in(dashboard.client, "alice")
        assert refused.status_code == 429
        wait, elapsed = int(refused.headers["retry-after"]), time.monotonic() - failed_at
        assert delay - elapsed <= wait <= delay, (delay, wait, elapsed)
        _backdate_failures(dashboard.store, wait)
        failed_at = time.monotonic()
        assert log_in(dashboard.client, "alice", "wrong password!").status_code == 401
    assert [pair_delay(PAIR_FREE_FAILURES + n).total_seconds() for n in range(5)] == [1, 2, 4, 8, 16]
    assert _count(dashboard.store, WebSession) == 0
    # bob, from the same address, is not slowed by alice's pair.
    assert log_in(dashboard.client, "bob").status_code == 303
    dashboard.client.cookies.clear()
    _backdate_failures(dashboard.store, 16)
    assert log_in(dashboard.client, "alice").status_code == 303


def test_a_guesser_cannot_lock_the_owner_out_of_her_known_device(world: World, dashboard: Dashboard) -> None:
    """bob logs in once from his browser (a known device). A guesser at other addresses spends the name's allowance:
    new devices must wait, bob's browser passes with the right password."""
    assert log_in(dashboard.client, "bob").status_code == 303
    device = dashboard.client.cookies[DEVICE_COOKIE]
    app = dashboard.client.app
    for i in range(MAX_FAILURES_PER_USER):
        with client_for(app, address=f"198.51.100.{i}") as guesser:
            assert log_in(guesser, "bob", f"guess {i}!").status_code == 401
    with client_for(app, address="198.51.100.200") as stranger:
        assert log_in(stranger, "bob").status_code == 429  # a new device: the name's limit holds
    dashboard.client.cookies.clear()
    dashboard.client.cookies.set(DEVICE_COOKIE, device, domain="testserver.local")
    assert log_in(dashboard.client, "bob").status_code == 303  # the owner's browser: not locked out
    # A device cookie of another user is no key to bob's name.
    with client_for(app, address="198.51.100.201") as other:
        assert log_in(other, "alice").status_code == 303
        alice_device = other.cookies[DEVICE_COOKIE]
        other.cookies.clear()
        other.cookies.set(DEVICE_COOKIE, alice_device, domain="testserver.local")
        assert log_in(other, "bob").status_code == 429


def test_one_address_spraying_many_names_is_limited_but_known_devices_pass(dashboard: Dashboard) -> None:
    assert log_in(dashboard.client, "bob").status_code == 303
    device = dashboard.client.cookies[DEVICE_COOKIE]
    dashboard.client.cookies.clear()
    for i in range(MAX_FAILURES_PER_CLIENT):
        assert log_in(dashboard.client, f"guess{i}", "wrong password!").status_code == 401
    assert log_in(dashboard.client, "alice").status_code == 429
    dashboard.client.cookies.set(DEVICE_COOKIE, device, domain="testserver.local")
    assert log_in(dashboard.client, "bob").status_code == 303


def test_every_response_carries_the_security_headers(dashboard: Dashboard) -> None:
    log_in(dashboard.client, "bob")
    for path in ["/login", "/", "/log", "/audit", "/static/style.css", "/healthz"]:
        headers = dashboard.client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_pages_escape_advert_texts_and_replies_and_mask_numbers(dashboard: Dashboard) -> None:
    log_in(dashboard.client, "alice")
    pages = [
        dashboard.client.get(f"/adverts/{dashboard.seeded.xss_advert_id}").text,
        dashboard.client.get(f"/persons/{dashboard.seeded.replier_id}").text,
        dashboard.client.get(f"/cases/{dashboard.seeded.replier_case_id}").text,
        dashboard.client.get("/log").text,
    ]
    for page in pages:
        # No tag of the payloads survives as a tag (their text, escaped, is fine); no script but ours from /static
        # (the case page's SMS-parts counter and quick replies).
        html = re.sub(r'<script src="/static/[\w-]+\.js"></script>', "", page)
        assert "<script" not in html and "<img" not in html and "<b onmouseover" not in html and "<!--" not in html
        for number in dashboard.seeded.numbers:
            assert number not in html and number[1:] not in html
    assert "&lt;script&gt;alert(&#34;advert&#34;)&lt;/script&gt;" in pages[0]
    assert XSS_TEXT not in pages[0] and XSS_REPLY not in pages[2]
    assert "&lt;script&gt;alert(&#39;reply&#39;)&lt;/script&gt;" in pages[2]


def test_a_supervisor_reveals_one_number_by_post_with_an_audit_event(
    dashboard: Dashboard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    log_in(dashboard.client, "bob")
    person = dashboard.seeded.replier_id
    assert dashboard.seeded.numbers[0] not in dashboard.client.get(f"/persons/{person}").text
    before = audit_count(dashboard.store, "numbers.revealed")
    response = dashboard.client.post(f"/persons/{person}/reveal", data={"csrf": page_csrf(dashboard.client)})
    assert response.status_code == 200
    assert dashboard.seeded.numbers[0] in response.text
    assert response.headers["cache-control"] == "no-store"
    assert all(n not in response.text for n in dashboard.seeded.numbers[1:])
    assert audit_count(dashboard.store, "numbers.revealed") == before + 1
    with dashboard.store.session() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.name == "numbers.revealed")).scalar_one()
    assert event.actor == "bob" and event.fields["person_id"] == person
    # Reveal is POST only: there is no URL that shows a number.
    assert dashboard.client.get(f"/persons/{person}/reveal").status_code == 405
    # Searching by number is a POST too; neither puts a number in a log line.
    dashboard.client.post("/log", data={"csrf": page_csrf(dashboard.client), "number": dashboard.seeded.numbers[0]})
    assert caplog.records and not any(
        n in record.getMessage() or n[1:] in record.getMessage()
        for record in caplog.records
        for n in dashboard.seeded.numbers
    )


def test_an_advert_shows_its_address_masked_and_a_supervisor_reveals_it_by_post_with_an_audit_event(
    dashboard: Dashboard,
) -> None:
    """Issue 19, item 3: the site's page behind an advert's address shows the number, so the address is shown like a
    number: the site only, and in full through the same audited reveal (supervisors, POST, numbers.revealed)."""
    advert, address = dashboard.seeded.advert_ids[1], "http://127.0.0.1/ads/1"
    for name in ("alice", "bob"):
        dashboard.client.cookies.clear()
        log_in(dashboard.client, name)
        page = dashboard.client.get(f"/adverts/{advert}").text
        assert "127.0.0.1/•••" in page and "/ads/1" not in page, name
        assert ('id="reveal-address"' in page) is (name == "bob")
    before = audit_count(dashboard.store, "numbers.revealed")
    response = dashboard.client.post(f"/adverts/{advert}/reveal", data={"csrf": page_csrf(dashboard.client)})
    assert response.status_code == 200 and address in response.text
    assert response.headers["cache-control"] == "no-store"
    assert all(n not in response.text for n in dashboard.seeded.numbers)  # the address, not the number
    assert audit_count(dashboard.store, "numbers.revealed") == before + 1
    with dashboard.store.session() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.name == "numbers.revealed")).scalar_one()
    assert event.actor == "bob" and event.fields["advert_id"] == advert
    assert event.fields["person_ids"] == [dashboard.seeded.person_ids[1]]
    assert dashboard.client.get(f"/adverts/{advert}/reveal").status_code == 405


def test_the_contact_log_filters_pages_searches_by_number_and_exports(dashboard: Dashboard) -> None:
    log_in(dashboard.client, "alice")
    everything = dashboard.client.get("/log").text
    assert everything.count("<tr>") == 1 + 7  # header + 6 first contacts + 1 reply
    kinky = dashboard.client.get("/log", params={"site": "kinky"}).text
    assert kinky.count("<tr>") == 1 + 3  # a reply has no advert, so no site
    assert "rentboy" not in kinky.split("<tbody>")[1]
    assert dashboard.client.get("/log", params={"lang": "ro", "status": "sent"}).text.count("<tr>") == 1 + 3
    assert dashboard.client.get("/log", params={"region": "utrecht"}).text.count("<tr>") == 1 + 2
    assert dashboard.client.get("/log", params={"advert": "ad-3"}).text.count("<tr>") == 1 + 1
    assert dashboard.client.get("/log", params={"status": "bogus"}).status_code == 400
    assert dashboard.client.get("/log", params={"from": "2026-13-01"}).status_code == 400
    tomorrow = dashboard.client.get("/log", params={"from": "2999-01-01"}).text
    assert "No messages match." in tomorrow
    # Search by number: POST, the number in no URL; the page shows only the masked number.
    csrf = page_csrf(dashboard.client)
    number = dashboard.seeded.numbers[3]
    found = dashboard.client.post("/log", data={"csrf": csrf, "number": "06" + number[4:]})
    assert found.status_code == 200 and number not in found.text
    assert found.text.count("<tr>") == 1 + 1 and f"/persons/{dashboard.seeded.person_ids[3]}" in found.text
    # CSV of the filtered view, numbers masked.
    export = dashboard.client.get("/log.csv", params={"site": "rentboy"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.strip().splitlines()
    assert lines[0].startswith("id,created,direction,number,site") and len(lines) == 1 + 3
    assert all(",rentboy," in line for line in lines[1:])
    assert all(n not in export.text for n in dashboard.seeded.numbers) and "•" in export.text


def test_pages_are_split_at_fifty_messages(dashboard: Dashboard) -> None:
    vault = dashboard.vault
    with dashboard.store.session() as session:
        pid = dashboard.seeded.person_ids[1]
        for _ in range(60):
            session.add(Message(person_id=pid, body="x", language="nl", status="delivered"))
    del vault
    log_in(dashboard.client, "alice")
    first = dashboard.client.get("/log")
    assert first.text.count("<tr>") == 1 + 50 and 'id="next"' in first.text and 'id="previous"' not in first.text
    second = dashboard.client.get("/log", params={"page": "2"})
    assert second.text.count("<tr>") == 1 + 17 and 'id="previous"' in second.text and 'id="next"' not in second.text


def test_a_fieldworker_answers_on_the_case_page_and_a_blocked_person_is_refused(dashboard: Dashboard) -> None:
    log_in(dashboard.client, "alice")
    person, case = dashboard.seeded.replier_id, dashboard.seeded.replier_case_id
    csrf = csrf_of(dashboard.client.get(f"/cases/{case}").text)
    empty = dashboard.client.post(f"/cases/{case}/reply", data={"csrf": csrf, "body": "  "})
    assert empty.status_code == 400
    answer = dashboard.client.post(f"/cases/{case}/reply", data={"csrf": csrf, "body": "Hoi! Bel ons gerust."})
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"/cases/{case}?sent=")
    with dashboard.store.session() as session:
        reply = session.execute(select(Message).where(Message.kind == "reply", Message.direction == "out")).scalar_one()
        assert reply.person_id == person and reply.fieldworker == "alice" and reply.status == "sent"  # at once
        assert session.get(Person, person).needs_fieldworker_since is None  # type: ignore[union-attr]
    # A blocked person cannot be answered.
    assert dashboard.client.post(f"/persons/{person}/block", data={"csrf": csrf, "reason": "asked"}).status_code == 303
    refused = dashboard.client.post(f"/cases/{case}/reply", data={"csrf": csrf, "body": "Hoi"})
    assert refused.status_code == 400 and "blocked" in refused.text
    assert _count(dashboard.store, Message, Message.kind == "reply", Message.direction == "out") == 1


def test_a_supervisor_adds_and_removes_blocks_and_opt_outs_with_a_reason(dashboard: Dashboard) -> None:
    log_in(dashboard.client, "bob")
    csrf = page_csrf(dashboard.client, "/stops")
    number = dashboard.seeded.numbers[4]
    assert (
        dashboard.client.post("/stops/add", data={"csrf": csrf, "number": number, "kind": "block"}).status_code == 400
    )
    added = dashboard.client.post(
        "/stops/add", data={"csrf": csrf, "number": number, "kind": "block", "reason": "asked by phone"}
    )
    assert added.status_code == 303
    dashboard.client.post("/stops/add", data={"csrf": csrf, "number": "0612", "kind": "opt_out", "reason": "x"})
    with dashboard.store.session() as session:
        stops = session.execute(select(OptOut)).scalars().all()
        assert [(s.kind, s.source, s.actor, s.person_key) for s in stops] == [
            ("block", "dashboard", "bob", dashboard.vault.key(number))
        ]
        stop_id = stops[0].id
    listing = dashboard.client.get("/stops").text
    assert "asked by phone" in listing and number not in listing
    assert dashboard.client.post("/stops/remove", data={"csrf": csrf, "stop": str(stop_id)}).status_code == 400
    removed = dashboard.client.post(
        "/stops/remove", data={"csrf": csrf, "stop": str(stop_id), "reason": "wrong number"}
    )
    assert removed.status_code == 303
    assert _count(dashboard.store, OptOut) == 0
    assert audit_count(dashboard.store, "person.un_block") == 1


def test_the_audit_page_says_whether_the_chain_verifies(dashboard: Dashboard) -> None:
    log_in(dashboard.client, "bob")
    assert "The chain verifies" in dashboard.client.get("/audit").text
    with dashboard.store.session() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="mallory"))
    page = dashboard.client.get("/audit").text
    assert "does NOT verify" in page and "event 2: content was edited" in page


def test_the_overview_counts_what_happened(dashboard: Dashboard) -> None:
    log_in(dashboard.client, "alice")
    html = dashboard.client.get("/").text
    today = html.split("<tbody>")[1]
    assert "<tr><th>Adverts found</th><td>6</td><td>6</td><td>6</td></tr>" in today
    assert "<tr><th>Persons contacted</th><td>6</td>" in today
    assert "<tr><th>Replied</th><td>1</td>" in today and "<tr><th>Opted out</th><td>0</td>" in today
    assert "<tr><th>Response rate</th><td>17%</td>" in today
    assert html.count('<rect class="bar messages"') == 30 and html.count('<rect class="bar replies"') == 30
    assert "<td>kinky</td><td>3</td>" in html and "<td>Utrecht</td><td>2</td>" in html


def test_the_csv_export_keeps_formulas_from_ad_sites_as_text(dashboard: Dashboard) -> None:
    from messaging.outbox.enqueue import queue_message
    from outreach.store.adverts import FoundAdvert, FoundPhone, save_advert, site_id

    number = "+31615559999"
    with dashboard.store.session() as session:
        saved = save_advert(
            session,
            dashboard.vault,
            FoundAdvert(
                site="kinky",
                site_ad_id='=HYPERLINK("http://evil.invalid","x")',
                url="http://127.0.0.1/ads/formula",
                title="t",
                text="t",
                city="@SUM(1+1)",
                category=None,
                has_whatsapp=False,
                content_hash="formula",
                phones=[FoundPhone(number, "NL", True)],
            ),
            None,
            utcnow(),
            site_id(session, "kinky"),
        )
        pid = session.execute(select(Person.id).where(Person.key == dashboard.vault.key(number))).scalar_one()
        queue_message(session, actor="cycle", now=utcnow(), person_id=pid, advert_id=saved.advert_id, body="x")
    log_in(dashboard.client, "alice")
    export = dashboard.client.get("/log.csv", params={"region": "@SUM(1+1)"}).text
    [_header, row] = export.strip().splitlines()
    assert "'=HYPERLINK(" in row and ",'@SUM(1+1)," in row
    assert ",=HYPERLINK" not in row and ",@SUM" not in row


def test_with_several_organisations_a_member_sees_only_their_own_organisation(world: World) -> None:
    """alice is a member of Rotterdam's organisation: its messages only, in the log and the overview; bob, an
    umbrella supervisor, sees everything."""
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://testserver", "language": "en"})
    store = world.store()
    add_users(store)
    seeded = seed(settings, store)  # adverts in Amsterdam, Rotterdam, Utrecht (two each), one message per person
    with store.session() as session:
        for message in session.execute(select(Message).where(Message.direction == "out")).scalars():
            city = session.get(Advert, message.advert_id).city  # type: ignore[union-attr]
            message.organisation = "rotterdam" if city == "Rotterdam" else "utrecht"
    units = [
        {"key": "rotterdam", "name": "Hulp R", "fieldworker": "Sanne", "municipalities": ["Rotterdam"],
         "from_number": "+15555550111", "members": ["alice"]},
        {"key": "utrecht", "name": "Hulp U", "fieldworker": "Noor", "municipalities": ["Utrecht", "Amsterdam"],
         "from_number": "+15555550122", "members": []},
    ]  # fmt: skip
    several = settings.model_copy(
        update={"organisations": [MemberOrganisation(**unit) for unit in units], "umbrella_supervisors": ["bob"]}
    )
    with client_for(create_app(several)) as client:
        log_in(client, "alice")
        log = client.get("/log").text
        overview = client.get("/").text
        # The replier advertised in Amsterdam (Utrecht's organisation): not alice's to see, answer or block.
        other, own = seeded.replier_id, seeded.person_ids[1]  # person 1 advertised in Rotterdam
        assert client.get(f"/persons/{own}").status_code == 200
        assert client.get(f"/adverts/{seeded.advert_ids[1]}").status_code == 200
        assert client.get(f"/persons/{other}").status_code == 404
        assert client.get(f"/adverts/{seeded.xss_advert_id}").status_code == 404
        their_case = seeded.replier_case_id
        assert f"/cases/{their_case}" not in client.get("/cases?view=all").text
        assert client.get(f"/cases/{their_case}").status_code == 404
        csrf = page_csrf(client)
        answer = client.post(f"/cases/{their_case}/reply", data={"csrf": csrf, "body": "Hoi, Demo Outreach hier."})
        blocked = client.post(f"/persons/{other}/block", data={"csrf": csrf, "reason": "not mine"})
        assert (answer.status_code, blocked.status_code) == (404, 404)
        client.post("/logout", data={"csrf": page_csrf(client)})
        log_in(client, "bob")
        everything = client.get("/log").text
        umbrella = client.get("/").text
        assert client.get(f"/persons/{seeded.replier_id}").status_code == 200
        assert f"/cases/{seeded.replier_case_id}" in client.get("/cases").text
    table = log.split("<tbody>")[1].split("</tbody>")[0]
    assert table.count("<tr") == 2 and "Rotterdam" in table and "Utrecht" not in table and "Amsterdam" not in table
    assert "<tr><th>Persons contacted</th><td>2</td>" in overview
    assert "<tr><th>Adverts found</th><td>2</td>" in overview  # adverts in its own municipalities
    assert everything.split("<tbody>")[1].split("</tbody>")[0].count("<tr") == 7  # 6 sent and the reply
    assert "<tr><th>Persons contacted</th><td>6</td>" in umbrella
