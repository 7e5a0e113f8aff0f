"""`outreach stats --by day|site|lang|region`, `outreach export` and the scripts' output (--json/--csv) of the
listing commands, against a hand-built database whose right answers are counted by hand in the docstrings."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.people import optouts
from outreach.settings import Settings
from outreach.store.adverts import FoundPhone, person_id
from outreach.store.db import Store, upgrade
from outreach.store.models import Advert, AuditEvent, Message, Person, Site
from outreach.store.states import StopKind
from outreach.store.types import utcnow
from outreach.support.progress import ProgressReport
from tests.conftest import World
from tests.messaging_world import config_file, numbers


def _hand_built(world: World) -> tuple[Settings, list[str]]:
    """Two sites, three persons contacted in the last days and one long ago:
    - p0: site `alpha`, Rotterdam, nl, delivered, replied twice (counts once);
    - p1: site `alpha`, Scheveningen (municipality Den Haag), en, delivered, then STOP (an opt-out, not a reply);
    - p2: site `beta`, Den Haag, nl, failed (never left us: not contacted);
    - p3: site `beta`, Rotterdam, nl, sent 40 days ago (outside a 30-day period), its advert first seen then too;
      an opt-out confirmation to p3 today is not a contact.
    Adverts: alpha has 2 new ones, beta 1 new and 1 old."""
    settings = world.settings()
    upgrade(world.database_url)
    vault = PhoneVault.from_settings(settings)
    now = utcnow()
    old = now - timedelta(days=40)
    phones = numbers(4)
    with Store(world.database_url) as store, store.session() as session:
        alpha, beta = Site(name="alpha"), Site(name="beta")
        session.add_all([alpha, beta])
        session.flush()
        plan = [
            (alpha, "Rotterdam", "nl", "delivered", now - timedelta(hours=3)),
            (alpha, "Scheveningen", "en", "delivered", now - timedelta(hours=2)),
            (beta, "Den Haag", "nl", "failed", now - timedelta(hours=1)),
            (beta, "Rotterdam", "nl", "sent", old),
        ]
        persons = []
        for index, (site, city, language, status, at) in enumerate(plan):
            advert = Advert(
                site_id=site.id,
                site_ad_id=f"ad-{index}",
                url_encrypted=vault.encrypt(f"http://127.0.0.1/ad/{index}"),
                url_key=vault.url_key(f"http://127.0.0.1/ad/{index}"),
                city=city,
                language=language,  # as the cycle records it when it messages the advert
                content_hash=f"{index:064d}",
                first_seen=at,
                last_seen=at,
            )
            session.add(advert)
            session.flush()
            person = person_id(session, vault, FoundPhone(phones[index], "NL", True), at)
            persons.append(person)
            session.add(
                Message(
                    person_id=person,
                    advert_id=advert.id,
                    body="hello",
                    language=language,
                    status=status,
                    created_at=at,
                )
            )
        for minutes in (10, 20):
            session.add(
                Message(
                    person_id=persons[0],
                    direction="in",
                    kind="reply",
                    body=vault.encrypt('=HYPERLINK("http://evil.invalid") who are you?'),
                    status="received",
                    created_at=now - timedelta(minutes=minutes),
                )
            )
        session.add(
            Message(
                person_id=persons[1],
                direction="in",
                kind="opt_out",
                body="STOP",
                status="received",
                created_at=now - timedelta(minutes=5),
            )
        )
        session.get(Person, persons[0]).needs_fieldworker_since = now  # type: ignore[union-attr]  # p0 waits
        optouts.stop(session, vault.key(phones[1]), kind=StopKind.OPT_OUT, source="inbound", actor="twilio")
        # p3's STOP confirmation today is no contact: p3 stays outside a 30-day period.
        session.add(
            Message(
                person_id=persons[3],
                kind="opt_out_confirmation",
                body="stopped",
                language="nl",
                status="delivered",
                created_at=now - timedelta(minutes=1),
            )
        )
    return settings, phones


def _stats(by: str, settings: Settings, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, object]]:
    capsys.readouterr()
    assert run(["stats", "--by", by, "--json", "--config", config_file(settings, settings.log_dir.parent), *extra]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_stats_by_site_language_region_and_total(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    settings, _ = _hand_built(world)
    assert _stats("site", settings, capsys) == [
        {"site": "alpha", "adverts_found": 2, "persons_contacted": 2, "delivered": 2, "replied": 1, "opted_out": 1,
         "response_rate": 0.5, "response_ci_low": 0.0945, "response_ci_high": 0.9055,  # Wilson, 1 of 2
         "opt_out_rate": 0.5, "opt_out_ci_low": 0.0945, "opt_out_ci_high": 0.9055},
        {"site": "beta", "adverts_found": 1, "persons_contacted": 0, "delivered": 0, "replied": 0, "opted_out": 0,
         "response_rate": None, "response_ci_low": 0.0, "response_ci_high": 1.0,
         "opt_out_rate": None, "opt_out_ci_low": 0.0, "opt_out_ci_high": 1.0},
    ]  # fmt: skip
    by_lang = {row["lang"]: row for row in _stats("lang", settings, capsys)}
    assert by_lang["nl"]["persons_contacted"] == 1 and by_lang["nl"]["replied"] == 1  # the failed one is not a contact
    assert by_lang["en"]["opted_out"] == 1 and by_lang["en"]["replied"] == 0  # STOP is not a reply
    assert (by_lang["nl"]["adverts_found"], by_lang["en"]["adverts_found"]) == (2, 1)
    by_region = {row["region"]: row for row in _stats("region", settings, capsys)}
    assert by_region["Den Haag"]["adverts_found"] == 2 and by_region["Den Haag"]["persons_contacted"] == 1
    assert by_region["Rotterdam"]["adverts_found"] == 1 and by_region["Rotterdam"]["replied"] == 1
    (total,) = _stats("total", settings, capsys)
    assert (total["adverts_found"], total["persons_contacted"], total["response_rate"]) == (3, 2, 0.5)
    (longer,) = _stats("total", settings, capsys, "--since", "60d")  # now the old contact counts too
    assert (longer["adverts_found"], longer["persons_contacted"]) == (4, 3)
    days = _stats("day", settings, capsys, "--since", "60d")
    assert sum(int(str(row["persons_contacted"])) for row in days) == 3 and len(days) >= 2


def test_stats_prints_a_table_and_refuses_an_unknown_grouping(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _ = _hand_built(world)
    config = config_file(settings, tmp_path)
    assert run(["stats", "--by", "site", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "alpha" in out and "50.0%" in out and "response rate" in out
    assert run(["stats", "--by", "colour", "--config", config]) == 2
    assert capsys.readouterr().err.startswith("error: --by 'colour'")
    assert run(["stats", "--json", "--csv", "--config", config]) == 2
    assert run(["stats", "--csv", "--by", "lang", "--config", config]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header == (
        "lang,adverts_found,persons_contacted,delivered,replied,opted_out,response_rate,response_ci_low,"
        "response_ci_high,opt_out_rate,opt_out_ci_low,opt_out_ci_high"
    )


def test_export_writes_the_period_masked_and_audits_it(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, phones = _hand_built(world)
    config = config_file(settings, tmp_path)
    out = tmp_path / "export.csv"
    assert run(["export", "--since", "7d", "--out", str(out), "--config", config, "--as", "alice"]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 7  # 4 outbound in the period + 3 inbound; the 40-day-old message is not in it
    text = out.read_text(encoding="utf-8")
    assert not any(phone in text or phone[-9:] in text for phone in phones)  # masked
    assert "export: 7/7 done" in capsys.readouterr().err  # not a terminal: plain progress lines
    assert run(["export", "--since", "7d", "--out", str(out), "--config", config]) == 2  # never overwrites
    assert "exists" in capsys.readouterr().err
    assert run(["export", "--since", "7d", "--reveal", "--out", str(tmp_path / "x.csv"), "--config", config,
                "--as", "alice"]) == 1  # fmt: skip
    assert "supervisor" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()
    full = tmp_path / "full.csv"
    assert run(["export", "--since", "60d", "--reveal", "--out", str(full), "--config", config, "--as", "bob"]) == 0
    assert all(phone in full.read_text(encoding="utf-8") for phone in phones)
    assert run(["export", "--since", "1d", "--until", "2d", "--out", str(tmp_path / "y.csv"), "--config", config]) == 2
    with Store(settings.database_url) as store, store.session() as session:
        events = session.execute(
            select(AuditEvent.actor, AuditEvent.fields).where(AuditEvent.name == "contact_log.exported")
        ).all()
        assert session.execute(select(func.count(Message.id))).scalar_one() == 8
    assert [(actor, fields["rows"], fields["revealed"]) for actor, fields in events] == [
        ("alice", 7, False),
        ("bob", 8, True),
    ]


def test_inbox_and_blocklist_give_scripts_json_and_csv(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, phones = _hand_built(world)
    config = config_file(settings, tmp_path)
    assert run(["block", phones[2], "--reason", "asked in person", "--config", config, "--as", "alice"]) == 0
    capsys.readouterr()
    assert run(["blocklist", "--json", "--config", config]) == 0
    (blocked,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert blocked["reason"] == "asked in person" and blocked["by"] == "alice"
    assert blocked["number"] != phones[2] and str(blocked["number"]).endswith(phones[2][-3:])
    assert run(["blocklist", "--csv", "--config", config]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "number,since,by,reason"
    assert run(["inbox", "--json", "--config", config]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and all(phone not in line for line in lines for phone in phones)  # p0 waits
    assert json.loads(lines[0])["last_message"].startswith("=HYPERLINK")  # JSON keeps the text as it came
    assert run(["inbox", "--csv", "--config", config]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header == "person,waiting_since,number,flag,last_message"
    assert row.endswith(',"\'=HYPERLINK(""http://evil.invalid"") who are you?"')  # a spreadsheet shows it as text


def test_progress_is_a_plain_line_every_few_seconds_when_not_a_terminal() -> None:
    clock = iter([0.0, 1.0, 6.0, 7.0, 13.0])
    out = io.StringIO()
    with ProgressReport("send", 4, terminal=False, out=out, clock=lambda: next(clock)) as shown:  # starts at 0.0
        shown.update(1)  # 1.0: too soon for a line
        shown.update(2)  # 6.0: a line
        shown.update(3)  # 7.0: too soon
    assert out.getvalue().splitlines() == ["send: 2/4", "send: 3/4 done"]
    terminal = io.StringIO()
    with ProgressReport("send", 2, terminal=True, out=terminal) as shown:
        shown.update(2)
    assert "send" in terminal.getvalue() and "2/2" in terminal.getvalue()
