"""Supervisors manage users in the browser (TestClient, SQLite and PostgreSQL): add with a one-time password shown
once, disable (an open session is refused at its next request), enable, reset a password, change a role; a
fieldworker gets 403; the last supervisor stays."""

from __future__ import annotations

import re

from sqlalchemy import select

from outreach.store.models import User
from outreach.web.app import create_app
from tests.conftest import World
from tests.dashboard_world import add_users, client_for, log_in, page_csrf
from tests.messaging_world import audit_count, messaging_settings


def test_a_supervisor_manages_users_and_a_disabled_users_session_ends(world: World) -> None:
    settings = messaging_settings(world, web={"public_url": "https://testserver", "language": "en"})
    store = world.store()
    add_users(store)  # alice (fieldworker), bob (supervisor)
    app = create_app(settings)
    with client_for(app) as bob, client_for(app) as alice:
        log_in(bob, "bob")
        log_in(alice, "alice")
        assert alice.get("/users").status_code == 403
        assert alice.get("/log").status_code == 200

        page = bob.post("/users/add", data={"csrf": page_csrf(bob, "/users"), "name": "dana", "role": "fieldworker"})
        shown = re.search(r"One-time password for dana: ([\w-]+)\.", page.text)
        assert page.status_code == 200 and shown
        assert shown[1] not in bob.get("/users").text  # shown once, on the answer to the POST only
        with store.session() as session:
            assert session.execute(select(User.must_change_password).where(User.name == "dana")).scalar_one()

        csrf = page_csrf(bob, "/users")
        assert bob.post("/users/change", data={"csrf": csrf, "name": "alice", "action": "disable"}).status_code == 303
        refused = alice.get("/log")  # her open session ends at the next request
        assert refused.status_code == 303 and refused.headers["location"] == "/login"
        assert bob.post("/users/change", data={"csrf": csrf, "name": "alice", "action": "enable"}).status_code == 303
        reset = bob.post("/users/change", data={"csrf": csrf, "name": "alice", "action": "passwd"})
        assert re.search(r"One-time password for alice: [\w-]{20}\.", reset.text)
        role = bob.post("/users/change", data={"csrf": csrf, "name": "alice", "action": "role", "role": "supervisor"})
        assert role.status_code == 303
        # Bob may step down now that alice is a supervisor too; the last one may not.
        assert bob.post("/users/change", data={"csrf": csrf, "name": "alice", "action": "disable"}).status_code == 303
        last = bob.post("/users/change", data={"csrf": csrf, "name": "bob", "action": "role", "role": "fieldworker"})
        assert last.status_code == 400 and "last enabled supervisor" in last.text
        assert bob.post("/users/change", data={"csrf": csrf, "name": "nobody", "action": "disable"}).status_code == 400
        assert bob.post("/users/change", data={"csrf": csrf, "name": "bob", "action": "delete"}).status_code == 400
        assert bob.post("/users/change", data={"csrf": "forged", "name": "bob", "action": "disable"}).status_code == 403
    assert audit_count(store, "user.disabled") == 2 and audit_count(store, "user.password_reset") == 1
