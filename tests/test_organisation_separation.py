"""Two organisations under one umbrella: a supervisor of one (rob, Rotterdam) walks EVERY dashboard route and EVERY
CLI command against the other's (Utrecht's) people, adverts, drafts, opt-outs, blocks and audit events, and neither
sees nor changes any of it. The routes are read from the Starlette app and the commands from the Typer app, so a new
route or command without a case here fails this test."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from pypdf import PdfReader
from sqlalchemy import select
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from outreach import audit
from outreach.access.masking import mask
from outreach.access.users import add_user
from outreach.audit_events import Event
from outreach.cli import run
from outreach.commands.base import app as cli_app
from outreach.crypto import PhoneVault
from outreach.people import cases, optouts
from outreach.settings import MemberOrganisation, Settings
from outreach.store.db import Store
from outreach.store.models import Advert, Case, HeldAdvert, Message, OptOut, User
from outreach.store.states import MessageStatus, StopKind
from outreach.store.types import utcnow
from outreach.support.local_time import local
from outreach.web.app import create_app
from tests.conftest import World
from tests.dashboard_world import Seeded, client_for, log_in, page_csrf, seed
from tests.messaging_world import config_file, messaging_settings

SECRET_REASON = "utrecht-only reason 7f3a"  # in Utrecht's blocks, opt-outs and audit events only
UNITS = [
    {"key": "rotterdam", "name": "Hulp R", "fieldworker": "Sanne", "municipalities": ["Rotterdam"],
     "from_number": "+15550100011", "members": ["rob", "alice"]},
    {"key": "utrecht", "name": "Hulp U", "fieldworker": "Noor", "municipalities": ["Utrecht", "Amsterdam"],
     "from_number": "+15550100022", "members": ["uma"]},
]  # fmt: skip
PASSWORD = "rob-supervisor-password"


@dataclass
class Two:
    settings: Settings
    store: Store
    vault: PhoneVault
    seeded: Seeded
    config: str
    theirs: list[int]  # Utrecht's persons
    their_numbers: list[str]
    their_advert: int
    their_message: int
    their_draft: int
    their_held: int
    their_block: int  # a block Utrecht recorded
    their_opt_out: int  # a person's own STOP, sent to Utrecht

    def stops(self) -> list[tuple[int, str, str | None]]:
        with self.store.session() as session:
            return [
                (s.id, s.kind, s.organisation) for s in session.execute(select(OptOut).order_by(OptOut.id)).scalars()
            ]

    def status_of(self, message_id: int) -> str:
        with self.store.session() as session:
            message = session.get(Message, message_id)
            assert message is not None
            return message.status

    def leaked(self, text: str) -> list[str]:
        """Anything of Utrecht's in a page or an output."""
        found = [SECRET_REASON] if SECRET_REASON in text else []
        return found + [n for n in self.their_numbers if n in text or mask(n) in text]


@pytest.fixture
def two(world: World, tmp_path: Path) -> Iterator[Two]:
    world.gateway.callbacks = "none"
    base = messaging_settings(world, web={"public_url": "https://testserver"})
    settings = base.model_copy(
        update={"organisations": [MemberOrganisation(**unit) for unit in UNITS], "umbrella_supervisors": ["bob"]}
    )
    store = world.store()
    with store.session() as session:
        for name in ("rob", "uma"):
            add_user(session, name, "supervisor", PASSWORD, actor="test")
    seeded = seed(base, store)  # Amsterdam, Rotterdam, Utrecht adverts; person 0 (Amsterdam) wrote back
    vault = PhoneVault.from_settings(settings)
    with store.session() as session:
        for message in session.execute(select(Message)).scalars():
            advert = session.get(Advert, message.advert_id) if message.advert_id else None
            message.organisation = "rotterdam" if advert and advert.city == "Rotterdam" else "utrecht"
        theirs = [pid for i, pid in enumerate(seeded.person_ids) if i % 3 != 1]
        their_numbers = [n for i, n in enumerate(seeded.numbers) if i % 3 != 1]
        draft = Message(person_id=theirs[1], advert_id=seeded.advert_ids[2], body="draft", organisation="utrecht",
                        status=MessageStatus.DRAFT)  # fmt: skip
        session.add(draft)
        held = HeldAdvert(advert_id=seeded.advert_ids[2], rule="keyword: test", content_hash="hash-2")
        session.add(held)
        session.flush()
        optouts.stop(session, vault.key(their_numbers[2]), kind=StopKind.BLOCK, source="dashboard", actor="uma",
                     reason=SECRET_REASON, organisation="utrecht")  # fmt: skip
        optouts.stop(session, vault.key(their_numbers[3]), kind=StopKind.OPT_OUT, source="keyword", actor="twilio",
                     reason=SECRET_REASON, organisation="utrecht")  # fmt: skip
        audit.record(session, Event.NUMBERS_REVEALED, "uma", where="dashboard", note=SECRET_REASON)
        stops = {s.kind: s.id for s in session.execute(select(OptOut)).scalars()}
        their_message = session.execute(
            select(Message.id).where(Message.person_id == theirs[0], Message.direction == "out")
        ).scalar_one()
        ids = (draft.id, held.id)
    config = config_file(settings, tmp_path, supervisors=())
    yield Two(settings, store, vault, seeded, config, theirs, their_numbers, seeded.advert_ids[0], their_message,
              ids[0], ids[1], stops["block"], stops["opt_out"])  # fmt: skip


# ---------------------------------------------------------------------------------------------- the dashboard


def _page_is_clean(path: str) -> Callable[[TestClient, Two], None]:
    def case(client: TestClient, two: Two) -> None:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert two.leaked(answer.text) == [], path

    return case


def _not_found(method: str, template: str) -> Callable[[TestClient, Two], None]:
    def case(client: TestClient, two: Two) -> None:
        path = template.format(person=two.theirs[0], advert=two.their_advert)
        data = {"csrf": page_csrf(client), "reason": "x", "body": "Hoi, Hulp R hier."}
        answer = client.get(path) if method == "GET" else client.post(path, data=data)
        assert answer.status_code == 404, path
        assert two.leaked(answer.text) == []

    return case


def _advert_language_refused(client: TestClient, two: Two) -> None:
    data = {"csrf": page_csrf(client), "language": "ro", "reason": "not ours"}
    answer = client.post(f"/adverts/{two.their_advert}/language", data=data)
    assert answer.status_code == 404 and two.leaked(answer.text) == []
    with two.store.session() as session:
        advert = session.get(Advert, two.their_advert)
        assert advert is not None and advert.language_override is None


def _search(client: TestClient, two: Two) -> None:
    answer = client.post("/log", data={"csrf": page_csrf(client), "number": two.their_numbers[0]})
    assert answer.status_code == 200
    assert "nobody with this number" in answer.text and f"/persons/{two.theirs[0]}" not in answer.text


def _add_stop(client: TestClient, two: Two) -> None:
    before = two.stops()
    data = {"csrf": page_csrf(client, "/stops"), "number": two.their_numbers[2], "kind": "block", "reason": "r"}
    assert client.post("/stops/add", data=data).status_code == 303
    assert two.stops() == before  # Utrecht's block stays Utrecht's: blocking again records nothing new


def _remove_stops(client: TestClient, two: Two) -> None:
    before = two.stops()
    for stop in (two.their_block, two.their_opt_out):
        data = {"csrf": page_csrf(client, "/stops"), "stop": str(stop), "reason": "not mine"}
        assert client.post("/stops/remove", data=data).status_code == 404
    assert two.stops() == before


def _audit(client: TestClient, two: Two) -> None:
    page = client.get("/audit").text
    assert two.leaked(page) == [] and "uma" not in page


def _log_out(client: TestClient, two: Two) -> None:
    assert client.post("/logout", data={"csrf": page_csrf(client)}).status_code == 303
    log_in(client, "rob", PASSWORD)


def _before_log_in(client: TestClient, two: Two) -> None:
    with client_for(client.app) as anonymous:
        assert two.leaked(anonymous.get("/login").text) == []


def _webhook(client: TestClient, two: Two) -> None:
    answer = client.post(f"/twilio/status/{two.their_message}", data={"MessageStatus": "failed"})
    assert answer.status_code == 403  # only Twilio, signed; no session opens it
    assert client.post("/twilio/inbound", data={"Body": "STOP"}).status_code == 403


def _inbox_moved(client: TestClient, two: Two) -> None:
    """The retired inbox only sends old bookmarks to the cases (whose own case is _cases_list)."""
    answer = client.get("/inbox")
    assert answer.status_code == 303 and answer.headers["location"] == "/cases"
    assert two.leaked(answer.text) == []


def _no_data(client: TestClient, two: Two) -> None:
    """Health and static files hold nothing of any organisation."""


def _language(client: TestClient, two: Two) -> None:
    answer = client.post("/language", data={"csrf": page_csrf(client), "language": "en", "next": "/"})
    assert answer.status_code == 303  # a user's own setting: nothing of any organisation


def _report(client: TestClient, two: Two) -> None:
    answer = client.get("/stats/report.pdf?days=365")
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(answer.content))
    assert two.leaked(" ".join(page.extract_text() or "" for page in reader.pages)) == []


def _draft_refused(path: str) -> Callable[[TestClient, Two], None]:
    def case(client: TestClient, two: Two) -> None:
        data = {"csrf": page_csrf(client), f"draft-{two.their_draft}": "yes", "reason": "not ours", "body": "x",
                "language": "en"}  # fmt: skip
        with two.store.session() as session:
            before = session.get(Message, two.their_draft)
            assert before is not None
            said = (before.body, before.language)
        answer = client.post(path.format(draft=two.their_draft), data=data)
        assert answer.status_code == 404, path
        assert two.status_of(two.their_draft) == MessageStatus.DRAFT and two.leaked(answer.text) == []
        with two.store.session() as session:
            after = session.get(Message, two.their_draft)
            assert after is not None and (after.body, after.language) == said

    return case


def _users_refused(method: str, path: str) -> Callable[[TestClient, Two], None]:
    """Users are the installation's: with several organisations only an umbrella supervisor manages them."""

    def case(client: TestClient, two: Two) -> None:
        data = {"csrf": page_csrf(client), "name": "uma", "action": "disable", "role": "fieldworker"}
        answer = client.get(path) if method == "GET" else client.post(path, data=data)
        assert answer.status_code == 403 and ("umbrella supervisor" in answer.text or "koepel" in answer.text)
        assert "uma" not in answer.text
        with two.store.session() as session:
            assert session.execute(select(User.disabled_at).where(User.name == "uma")).scalar_one() is None

    return case


def _held_refused(client: TestClient, two: Two) -> None:
    data = {"csrf": page_csrf(client), "decision": "approve", "reason": "not ours"}
    answer = client.post(f"/review/{two.their_held}", data=data)
    assert answer.status_code == 404 and two.leaked(answer.text) == []
    with two.store.session() as session:
        held = session.get(HeldAdvert, two.their_held)
        assert held is not None and held.status == "pending"


def _their_case(two: Two) -> int:
    """Utrecht's person 0 wrote to Utrecht: a case of Utrecht's."""
    with two.store.session() as session:
        return cases.open_for_message(session, two.theirs[0], "utrecht", utcnow(), "uma").id


def _cases_list(client: TestClient, two: Two) -> None:
    their = _their_case(two)
    for view in ("open", "all", "unassigned", "closed", "mine"):
        page = client.get(f"/cases?view={view}").text
        assert f"/cases/{their}" not in page and two.leaked(page) == [], view


def _case_not_found(method: str, action: str) -> Callable[[TestClient, Two], None]:
    def case(client: TestClient, two: Two) -> None:
        their = _their_case(two)
        path = f"/cases/{their}{action}"
        data = {"csrf": page_csrf(client), "body": "Hoi, Hulp R hier.", "note": "x", "action": "take",
                "label-1": "doorverwezen", "resume": "yes"}  # fmt: skip
        answer = client.get(path) if method == "GET" else client.post(path, data=data)
        assert answer.status_code == 404, path
        assert two.leaked(answer.text) == []
        with two.store.session() as session:
            found = session.get(Case, their)
            assert found is not None and found.assigned_to == "uma" and found.status == "open"

    return case


DASHBOARD: dict[tuple[str, str], Callable[[TestClient, Two], None]] = {
    ("GET", "/"): _page_is_clean("/"),
    ("GET", "/log"): _page_is_clean("/log"),
    ("POST", "/log"): _search,
    ("GET", "/log.csv"): _page_is_clean("/log.csv"),
    ("GET", "/adverts/{advert_id:id}"): _not_found("GET", "/adverts/{advert}"),
    ("POST", "/adverts/{advert_id:id}/reveal"): _not_found("POST", "/adverts/{advert}/reveal"),
    ("POST", "/adverts/{advert_id:id}/language"): _advert_language_refused,
    ("GET", "/persons/{person_id:id}"): _not_found("GET", "/persons/{person}"),
    ("POST", "/persons/{person_id:id}/reveal"): _not_found("POST", "/persons/{person}/reveal"),
    ("POST", "/persons/{person_id:id}/block"): _not_found("POST", "/persons/{person}/block"),
    ("POST", "/persons/{person_id:id}/resend"): _not_found("POST", "/persons/{person}/resend"),
    ("GET", "/inbox"): _inbox_moved,
    ("GET", "/stops"): _page_is_clean("/stops"),
    ("POST", "/stops/add"): _add_stop,
    ("POST", "/stops/remove"): _remove_stops,
    ("GET", "/audit"): _audit,
    ("POST", "/logout"): _log_out,
    ("GET", "/login"): _before_log_in,
    ("POST", "/login"): _before_log_in,
    ("GET", "/healthz"): _no_data,
    ("GET", "/readyz"): _no_data,
    ("POST", "/twilio/status/{message_id:id}"): _webhook,
    ("POST", "/twilio/inbound"): _webhook,
    ("MOUNT", "/static"): _no_data,
    ("POST", "/language"): _language,
    ("GET", "/stats"): _page_is_clean("/stats?days=365"),
    ("GET", "/stats/report.pdf"): _report,
    ("GET", "/cases"): _cases_list,
    ("GET", "/review"): _page_is_clean("/review"),
    ("POST", "/review/{held_id:id}"): _held_refused,
    ("GET", "/users"): _users_refused("GET", "/users"),
    ("POST", "/users/add"): _users_refused("POST", "/users/add"),
    ("POST", "/users/change"): _users_refused("POST", "/users/change"),
    ("GET", "/drafts"): _page_is_clean("/drafts"),
    ("GET", "/assist"): _page_is_clean("/assist"),
    ("POST", "/drafts/approve"): _draft_refused("/drafts/approve"),
    ("POST", "/drafts/reject"): _draft_refused("/drafts/reject"),
    ("POST", "/assist/{message_id:id}/send"): _draft_refused("/assist/{draft}/send"),
    ("POST", "/assist/{message_id:id}/language"): _draft_refused("/assist/{draft}/language"),
    ("GET", "/cases/{case_id:id}"): _case_not_found("GET", ""),
    ("POST", "/cases/{case_id:id}/reply"): _case_not_found("POST", "/reply"),
    ("POST", "/cases/{case_id:id}/note"): _case_not_found("POST", "/note"),
    ("POST", "/cases/{case_id:id}/labels"): _case_not_found("POST", "/labels"),
    ("POST", "/cases/{case_id:id}/assign"): _case_not_found("POST", "/assign"),
    ("POST", "/cases/{case_id:id}/close"): _case_not_found("POST", "/close"),
}


def test_a_supervisor_of_one_organisation_sees_and_changes_nothing_of_another_on_any_route(two: Two) -> None:
    app = create_app(two.settings)
    routes = set()
    for route in app.routes:
        if isinstance(route, Mount):
            routes.add(("MOUNT", route.path))
        else:
            assert isinstance(route, Route)
            routes.update((method, route.path) for method in route.methods or () if method != "HEAD")
    assert routes - set(DASHBOARD) == set(), "a route without a case in DASHBOARD"
    assert set(DASHBOARD) - routes == set(), "a case for a route that no longer exists"
    their_drafts = two.status_of(two.their_draft)
    with client_for(app) as client:
        assert log_in(client, "rob", PASSWORD).status_code == 303
        for key in sorted(routes):
            DASHBOARD[key](client, two)
    assert two.status_of(two.their_draft) == their_drafts
    # Their person's own STOP still stands: no organisation's cycle may message them again.
    assert (two.their_opt_out, "opt_out", "utrecht") in two.stops()


# ---------------------------------------------------------------------------------------------- the CLI


def _cli(two: Two, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    # `audit verify` and `status` take no actor: they name no person and no organisation's data.
    actor = [] if args[0] in ("audit", "status") else ["--as", "rob"]
    code = run([*args, "--config", two.config, *actor])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _clean(*args: str) -> Callable[[Two, pytest.CaptureFixture[str], Path], None]:
    def case(two: Two, capsys: pytest.CaptureFixture[str], tmp: Path) -> None:
        code, out = _cli(two, capsys, *args)
        assert code == 0, out
        assert two.leaked(out) == [], args

    return case


def _refused(*args: str, says: str) -> Callable[[Two, pytest.CaptureFixture[str], Path], None]:
    def case(two: Two, capsys: pytest.CaptureFixture[str], tmp: Path) -> None:
        filled = [a.format(person=two.theirs[0], number=two.their_numbers[0], advert=two.their_advert,
                           message=two.their_message, draft=two.their_draft, held=two.their_held,
                           blocked=two.their_numbers[2], stopped=two.their_numbers[3]) for a in args]  # fmt: skip
        before = two.stops()
        code, out = _cli(two, capsys, *filled)
        assert code != 0 and says in out, (filled, out)
        for typed in filled:  # the command may repeat, masked, a number the actor typed: that tells nothing
            out = out.replace(mask(typed), "") if typed.startswith("+") else out
        assert two.leaked(out) == []
        assert two.stops() == before

    return case


def _show(two: Two, capsys: pytest.CaptureFixture[str], tmp: Path) -> None:
    _refused("show", "person", "{person}", says="no person")(two, capsys, tmp)
    _refused("show", "advert", "{advert}", "--reveal", says="no advert")(two, capsys, tmp)


def _export(two: Two, capsys: pytest.CaptureFixture[str], tmp: Path) -> None:
    code, out = _cli(two, capsys, "export", "--out", str(tmp / "log.csv"), "--reveal")
    assert code == 0, out
    assert two.leaked((tmp / "log.csv").read_text(encoding="utf-8")) == []


def _blocklist_export(two: Two, capsys: pytest.CaptureFixture[str], tmp: Path) -> None:
    code, out = _cli(two, capsys, "blocklist", "export", str(tmp / "blocked.csv"))
    assert code == 0, out
    assert two.leaked((tmp / "blocked.csv").read_text(encoding="utf-8")) == []


def _blocklist_import(two: Two, capsys: pytest.CaptureFixture[str], tmp: Path) -> None:
    (tmp / "import.csv").write_text(f"{two.their_numbers[2]},ours too\n", encoding="utf-8")
    before = two.stops()
    code, out = _cli(two, capsys, "blocklist", "import", str(tmp / "import.csv"))
    assert code == 0, out
    assert two.stops() == before


def _approve(two: Two, capsys: pytest.CaptureFixture[str], tmp: Path) -> None:
    _clean("approve")(two, capsys, tmp)
    code, out = _cli(two, capsys, "approve", str(two.their_draft))
    assert code == 2 and "no draft" in out
    code, out = _cli(two, capsys, "approve", "--all")
    assert code == 0 and two.status_of(two.their_draft) == MessageStatus.DRAFT


def _assist(two: Two, capsys: pytest.CaptureFixture[str], tmp: Path) -> None:
    code, out = _cli(two, capsys, "assist")
    assert code == 0 and "no drafts waiting" in out


def _review(two: Two, capsys: pytest.CaptureFixture[str], tmp: Path) -> None:
    code, out = _cli(two, capsys, "review")
    assert code == 0 and "0 held advert(s) waiting" in out


def _operations(two: Two, capsys: pytest.CaptureFixture[str], tmp: Path) -> None:
    """An operator's command: it runs every organisation's jobs or the installation's, and shows no person."""


def _report_command(two: Two, capsys: pytest.CaptureFixture[str], tmp: Path) -> None:
    """The report holds counts only, and only the actor's organisations'."""
    today = local(utcnow(), two.settings.sending.timezone).date()  # --to is a local date: today's data is in it
    out = tmp / "report.pdf"
    code, printed = _cli(two, capsys, "report", "--from", str(today.replace(year=today.year - 1)), "--to",
                         str(today), "--out", str(out))  # fmt: skip
    assert code == 0, printed
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    assert two.leaked(text) == [] and "Hulp R" in text and "Hulp U" not in text


def _users(two: Two, capsys: pytest.CaptureFixture[str], tmp: Path) -> None:
    """Users are the installation's: with several organisations only an umbrella supervisor manages them."""
    code, out = _cli(two, capsys, "user", "disable", "uma")
    assert code == 1 and "umbrella supervisor" in out


CLI: dict[str, Callable[[Two, pytest.CaptureFixture[str], Path], None]] = {
    "log": _clean("log", "--json", "--reveal"),
    "export": _export,
    "stats": _clean("stats", "--json", "--since", "3650d"),
    "show": _show,
    "resend": _refused("resend", "{message}", "--reason", "x", says="no outbound message"),
    "inbox": _clean("inbox", "--json"),
    "reply": _refused("reply", "{person}", "Hoi", says="no person"),
    "handled": _refused("handled", "{person}", says="no person"),
    "approve": _approve,
    "assist": _assist,
    "block": _blocklist_import,  # blocking only stops messages; another organisation's block stays theirs
    "unblock": _refused("unblock", "{blocked}", "--reason", "not mine", says="is not blocked"),
    "blocklist": _clean("blocklist", "--json"),
    "blocklist import": _blocklist_import,
    "blocklist export": _blocklist_export,
    "subject export": _refused("subject", "export", "{number}", says="umbrella supervisor"),
    "subject erase": _refused("subject", "erase", "{number}", "--reason", "x", says="umbrella supervisor"),
    "advert language": _refused("advert", "language", "{advert}", "ro", "--reason", "x", says="no advert"),
    "review": _review,
    "review approve": _refused("review", "approve", "{held}", "--reason", "x", says="held advert"),
    "review reject": _refused("review", "reject", "{held}", "--reason", "x", says="held advert"),
    "user add": _users,
    "user list": _users,
    "user disable": _users,
    "user enable": _users,
    "user passwd": _users,
    "user role": _users,
    "audit verify": _clean("audit", "verify"),
    "status": _clean("status"),
    "report": _report_command,
    **{name: _operations for name in (
        "escalate", "send", "serve", "scheduler", "crawl", "purge", "cycle", "demo", "db upgrade", "db downgrade",
        "keys new", "keys rotate", "config check", "config reference", "site try", "site reference", "templates check",
        "templates preview",
    )},
}  # fmt: skip


def _commands(group: Any, prefix: str = "") -> Iterator[str]:
    """Typer carries its own copy of click: a group is whatever has subcommands."""
    for name, command in group.commands.items():
        if getattr(command, "commands", None):
            if command.invoke_without_command:
                yield prefix + name
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield prefix + name


def test_a_supervisor_of_one_organisation_sees_and_changes_nothing_of_another_in_any_command(
    two: Two, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    group = typer.main.get_command(cli_app)
    commands = set(_commands(group))
    assert commands - set(CLI) == set(), "a command without a case in CLI"
    assert set(CLI) - commands == set(), "a case for a command that no longer exists"
    the_unblock = ("unblock", "--opt-out")
    for name in sorted(commands):
        CLI[name](two, capsys, tmp_path)
    # The person's own STOP, recorded by Utrecht, cannot be lifted by Rotterdam's supervisor either.
    _refused(*the_unblock[:1], "{stopped}", the_unblock[1], "--reason", "x", says="is not opted out")(
        two, capsys, tmp_path
    )
    assert two.status_of(two.their_draft) == MessageStatus.DRAFT
    with two.store.session() as session:
        held = session.get(HeldAdvert, two.their_held)
        assert held is not None and held.status == "pending"
