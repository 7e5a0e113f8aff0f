"""What an outside review found at the web's edge: row ids too big for the database, a Host header that chose a
redirect's target, X-Forwarded-For believed from anyone, searching by number as an oracle, users who could not be
disabled or given a new password, and uvicorn without limits."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from outreach.access.accounts import disable, reset_password
from outreach.access.lookup import MAX_SEARCHES
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import AuditEvent
from outreach.web.app import create_app, server_options
from tests.conftest import World
from tests.dashboard_world import add_users, client_for, log_in, page_csrf, seed
from tests.messaging_world import messaging_settings
from testworld.web_server import UvicornThread, free_port

NGINX = Path(__file__).resolve().parents[1] / "docs" / "proxy" / "nginx.conf"


@pytest.fixture
def settings(world: World) -> Settings:
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://testserver", "trusted_proxies": ["127.0.0.1"]})
    store = world.store()
    add_users(store)
    seed(settings, store, count=2)
    return settings


def test_a_row_id_too_big_for_the_database_is_404_not_500(settings: Settings) -> None:
    huge = "9" * 30
    with client_for(create_app(settings)) as client:
        log_in(client, "bob")
        assert client.get(f"/persons/{huge}").status_code == 404
        assert client.get(f"/adverts/{huge}").status_code == 404
        assert client.post(f"/twilio/status/{huge}", data={"MessageStatus": "sent"}).status_code == 404
        assert client.get("/persons/999999999").status_code == 404  # the largest id that is a route: no such row


def test_no_redirect_goes_to_the_host_a_request_names(settings: Settings) -> None:
    with client_for(create_app(settings)) as client:
        for path in ("/static", "/log/", "/persons/1/"):
            answer = client.get(path, headers={"Host": "evil.example"})
            assert "evil.example" not in answer.headers.get("location", ""), path
            assert answer.status_code == 404, path


def _documented_forwarded_for() -> str:
    found = re.search(r"proxy_set_header\s+X-Forwarded-For\s+(\S+);", NGINX.read_text(encoding="utf-8"))
    assert found, "docs/proxy/nginx.conf sets no X-Forwarded-For"
    return found[1]


def _as_nginx_sends(client_sent: str | None, client_address: str) -> str:
    """The header nginx passes on with the documented directive."""
    directive = _documented_forwarded_for()
    if directive == "$remote_addr":
        return client_address
    assert directive == "$proxy_add_x_forwarded_for", directive
    return f"{client_sent}, {client_address}" if client_sent else client_address


def test_forwarded_addresses_are_believed_only_from_configured_proxies(settings: Settings) -> None:
    """A sprayer behind the documented nginx cannot rotate addresses by inventing X-Forwarded-For: its failures
    are counted against its real address. Sent straight to uvicorn (no trusted proxy), the header is ignored."""
    app = create_app(settings)
    with client_for(app, address="127.0.0.1") as proxy:
        for i in range(30):
            header = _as_nginx_sends(f"10.0.{i}.1", "203.0.113.9")
            assert log_in_via(proxy, f"nobody{i}", header).status_code == 401
        # The 30 failures are one address's: now it must wait, whatever it claims to be.
        assert log_in_via(proxy, "alice", _as_nginx_sends("10.9.9.9", "203.0.113.9")).status_code == 429
        # Another real client behind the same proxy is not affected.
        assert log_in_via(proxy, "alice", _as_nginx_sends(None, "198.51.100.4")).status_code == 303
    untrusted = settings.model_copy(update={"web": settings.web.model_copy(update={"trusted_proxies": []})})
    with client_for(create_app(untrusted), address="127.0.0.1") as direct:
        # No trusted proxy: the header means nothing; all tries are 127.0.0.1's and this one waits too.
        for i in range(30):
            assert log_in_via(direct, f"other{i}", f"10.1.{i}.1").status_code == 401
        assert log_in_via(direct, "alice", "198.51.100.77").status_code == 429


def log_in_via(client: TestClient, name: str, forwarded_for: str) -> httpx2.Response:
    from tests.dashboard_world import PASSWORDS, csrf_of

    client.cookies.clear()
    page = client.get("/login")
    data = {"csrf": csrf_of(page.text), "name": name, "password": PASSWORDS.get(name, "wrong password!")}
    return client.post("/login", data=data, headers={"X-Forwarded-For": forwarded_for})


def _searches(store: Store) -> int:
    with store.session() as session:
        return session.execute(
            select(func.count(AuditEvent.id)).where(AuditEvent.name == "number.searched")
        ).scalar_one()


def test_searching_by_number_is_audited_and_limited(world: World, settings: Settings) -> None:
    store = world.store()
    with client_for(create_app(settings)) as client:
        log_in(client, "alice")
        csrf = page_csrf(client)
        for i in range(MAX_SEARCHES):
            answer = client.post("/log", data={"csrf": csrf, "number": f"+316155509{i:02d}"})
            assert answer.status_code == 200
        assert _searches(store) == MAX_SEARCHES
        refused = client.post("/log", data={"csrf": csrf, "number": "+31615550999"})
        assert (
            refused.status_code == 429 and "probeer het later opnieuw" in refused.text
        )  # the dashboard speaks Dutch by default
        assert _searches(store) == MAX_SEARCHES  # a refused search searches nothing


def test_a_disabled_user_is_out_at_the_next_request_and_a_reset_password_is_changed_at_log_in(
    world: World, settings: Settings
) -> None:
    store = world.store()
    app = create_app(settings)
    with client_for(app) as alice, client_for(app) as carol:
        log_in(alice, "alice")
        assert alice.get("/log").status_code == 200
        with store.session() as session:
            disable(session, settings, "alice", "bob")
        assert alice.get("/log").status_code == 303  # to the log-in page
        assert log_in(alice, "alice").status_code == 401
        with store.session() as session:
            one_time = reset_password(session, settings, "bob", "bob")
        assert log_in(carol, "bob").status_code == 401  # the old password is gone
        change = log_in(carol, "bob", one_time)
        assert change.status_code == 200 and 'name="new_password"' in change.text
        assert carol.cookies.get("outreach_session") is None
        page = carol.get("/login")
        from tests.dashboard_world import csrf_of

        form = {"csrf": csrf_of(page.text), "name": "bob", "password": one_time, "new_password": "bob's own new one"}
        assert carol.post("/login", data=form).status_code == 303
        assert carol.get("/audit").status_code == 200
        carol.cookies.clear()
        assert log_in(carol, "bob", one_time).status_code == 401  # one time only
        assert log_in(carol, "bob", "bob's own new one").status_code == 303


def test_serve_closes_idle_connections_and_caps_concurrency(settings: Settings) -> None:
    quick = settings.model_copy(update={"web": settings.web.model_copy(update={"keep_alive_seconds": 1})})
    options = server_options(quick)
    assert options["proxy_headers"] is False  # X-Forwarded-For is the dashboard's to judge (trusted_proxies)
    assert options["limit_concurrency"] == settings.web.max_concurrency
    port = free_port()
    served = {k: v for k, v in options.items() if k not in ("host", "port", "log_config", "log_level")}
    with (
        UvicornThread(create_app(quick), port, **served),
        socket.create_connection(("127.0.0.1", port), timeout=10) as idle,
    ):
        started = time.monotonic()
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := idle.recv(4096):  # until the server closes the idle keep-alive connection
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok")
        assert time.monotonic() - started < 3  # uvicorn's default would hold it 5 s
