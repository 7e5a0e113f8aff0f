"""The overview's figures are counted once and shown at once: a count older than its age is shown one more time and
counted again after the response, one recount per scope at a time, and one scope's count is never another's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from outreach.access.users import add_user
from outreach.store.models import Message
from outreach.store.states import MessageStatus
from outreach.web.app import create_app
from outreach.web.dashboard import overview, stats_pages
from outreach.web.dashboard.recent_figures import RecentFigures
from tests.conftest import World
from tests.dashboard_world import add_users, client_for, log_in, seed
from tests.messaging_world import messaging_settings
from tests.test_organisation_separation import PASSWORD, Two, two  # noqa: F401 - two: the two-organisation world

USERS = (("bob", PASSWORD), ("rob", PASSWORD))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_count_is_kept_for_its_age_then_shown_once_more_while_it_is_counted_again() -> None:
    clock, counts = Clock(), [0]

    def count() -> int:
        counts[0] += 1
        return counts[0]

    figures: RecentFigures[int] = RecentFigures(60, clock)
    assert figures.get("a", count) == (1, None)  # the first view waits for its count
    clock.now += 59
    assert figures.get("a", count) == (1, None)
    clock.now += 2
    shown, recount = figures.get("a", count)
    assert shown == 1 and recount is not None and counts[0] == 1  # old figures at once; the count comes after
    assert figures.get("a", count) == (1, None)  # one recount at a time
    recount()
    assert figures.get("a", count) == (2, None)
    assert figures.get("b", count) == (3, None)  # another scope has its own count
    figures.forget()
    assert figures.get("a", count) == (4, None)


def test_a_failed_recount_keeps_the_old_figures_and_is_tried_again() -> None:
    clock = Clock()
    figures: RecentFigures[int] = RecentFigures(60, clock)
    figures.get("a", lambda: 1)
    clock.now += 61

    def broken() -> int:
        raise RuntimeError("database went away")

    _shown, recount = figures.get("a", broken)
    assert recount is not None
    with pytest.raises(RuntimeError):
        recount()
    shown, again = figures.get("a", lambda: 2)
    assert shown == 1 and again is not None
    again()
    assert figures.get("a", lambda: 3) == (2, None)


def test_a_view_during_the_first_count_of_its_scope_waits_for_it_instead_of_counting_again() -> None:
    figures: RecentFigures[int] = RecentFigures(60, Clock())
    started, release, counts = threading.Event(), threading.Event(), []

    def counted(by: str, figure: int) -> Callable[[], int]:
        def count() -> int:
            counts.append(by)
            return figure

        return count

    def slow() -> int:
        counts.append("warm")
        started.set()
        release.wait(10)
        return 1

    warming = threading.Thread(target=figures.warm, args=("a", slow))
    warming.start()
    assert started.wait(10)
    seen: list[tuple[int, object]] = []
    view = threading.Thread(target=lambda: seen.append(figures.get("a", counted("view", 2))))
    view.start()
    time.sleep(0.2)
    assert seen == []  # waiting for the count under way
    release.set()
    warming.join(10)
    view.join(10)
    assert seen == [(1, None)] and counts == ["warm"]
    figures.warm("a", counted("again", 3))  # a scope with a count is not counted again
    assert counts == ["warm"] and figures.get("b", lambda: 4) == (4, None)


def _scopes_counted(calls: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, ...]]:
    return sorted(organisations for _thread, organisations in calls)


def test_the_dashboard_counts_every_configured_scope_at_start_so_that_no_first_view_waits(
    world: World, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    separated: Two = request.getfixturevalue("two")
    with separated.store.session() as session:
        add_user(session, "bob", "supervisor", PASSWORD, actor="test")  # the umbrella supervisor
    calls: list[tuple[str, tuple[str, ...]]] = []
    count = overview.count_figures

    def counting(*args: object, **kwargs: object) -> overview.OverviewFigures:
        calls.append((threading.current_thread().name, tuple(kwargs["organisations"] or ())))  # type: ignore[arg-type]
        return count(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(overview, "count_figures", counting)
    with client_for(create_app(separated.settings)) as client:
        deadline = time.monotonic() + 30
        while any(thread.name == "dashboard-warm" for thread in threading.enumerate()):
            assert time.monotonic() < deadline, "the start's counting did not end"
            time.sleep(0.05)
        # the umbrella's (bob), Rotterdam's (rob, alice) and Utrecht's (uma): each once, in the start's thread
        assert _scopes_counted(calls) == [(), ("rotterdam",), ("utrecht",)]
        assert {thread for thread, _organisations in calls} == {"dashboard-warm"}
        for name, password in USERS:
            log_in(client, name, password)
            assert '<table class="totals">' in client.get("/").text
        assert len(calls) == 3  # the views were served the start's counts
    off = separated.settings.model_copy(
        update={"web": separated.settings.web.model_copy(update={"count_at_start": False})}
    )
    calls.clear()
    with client_for(create_app(off)) as client:
        log_in(client, "rob", PASSWORD)
        assert calls == [] and '<table class="totals">' in client.get("/").text
        assert [organisations for _thread, organisations in calls] == [("rotterdam",)]  # the first view counted


def test_the_overview_shows_when_it_counted_and_counts_again_after_the_response(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats_pages, "OVERVIEW_MAX_AGE", 0.0)  # every view after the first finds its figures old
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://testserver", "language": "en"})
    store = world.store()
    add_users(store)
    seeded = seed(settings, store, count=3)

    def delivered(page: str) -> str:
        return page.split("<th>Delivered</th>")[1].split("</tr>")[0]

    with client_for(create_app(settings)) as client:
        log_in(client, "alice")
        first = client.get("/").text
        assert "Counted at" in first and delivered(first).count("<td>0</td>") == 3
        with store.session() as session:
            session.execute(
                update(Message).where(Message.person_id == seeded.person_ids[0]).values(status=MessageStatus.DELIVERED)
            )
        # This view still shows the count it found; the recount ran after the response had left.
        assert delivered(client.get("/").text).count("<td>0</td>") == 3
        assert delivered(client.get("/").text).count("<td>1</td>") == 3


def test_each_scope_has_its_own_count(world: World, request: pytest.FixtureRequest) -> None:
    """Rotterdam's supervisor and the umbrella's each see their own count, in whatever order they look, the same as
    a freshly started dashboard counts for them alone."""
    separated: Two = request.getfixturevalue("two")
    with separated.store.session() as session:
        add_user(session, "bob", "supervisor", PASSWORD, actor="test")  # the umbrella supervisor

    def totals(client: TestClient) -> str:
        return client.get("/").text.split('<table class="totals">')[1].split("</table>")[0]

    alone = {}
    for name, password in USERS:
        with client_for(create_app(separated.settings)) as client:
            log_in(client, name, password)
            alone[name] = totals(client)
    assert alone["bob"] != alone["rob"]
    app = create_app(separated.settings)
    for name, password in (*USERS, *USERS):
        with client_for(app) as client:
            log_in(client, name, password)
            assert totals(client) == alone[name], name
