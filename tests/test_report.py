"""The quarterly report: a PDF from `outreach report` and from the dashboard's button, whose extracted text holds
the hand-counted figures, shows small groups as "< 5" and holds no number, name or advert text."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.people import optouts
from outreach.people.inbound import Inbound, receive
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import AuditEvent
from outreach.store.states import StopKind
from outreach.store.types import utcnow
from outreach.support.local_time import local
from outreach.web.app import create_app
from tests.conftest import World
from tests.dashboard_world import XSS_TEXT, XSS_TITLE, Seeded, add_users, client_for, log_in, seed
from tests.messaging_world import config_file, messaging_settings


def _world(world: World) -> tuple[Settings, Store, Seeded]:
    """12 persons contacted (6 per site, 6 per language, 4 per city); 6 of them wrote back (the seeded reply and
    five more); one opted out after the message."""
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://testserver"})
    store = world.store()
    add_users(store)
    seeded = seed(settings, store, count=12)
    vault = PhoneVault.from_settings(settings)
    with store.session() as session:
        for i in range(1, 6):
            receive(session, vault, settings, Inbound(f"SM{i:032d}", seeded.numbers[i], "Wie zijn jullie?"))
        optouts.stop(session, vault.key(seeded.numbers[7]), kind=StopKind.OPT_OUT, source="inbound", actor="twilio")
    return settings, store, seeded


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def _no_personal_data(text: str, seeded: Seeded) -> None:
    digits = re.sub(r"\D", "", text)
    for number in seeded.numbers:
        assert number not in text and number[1:] not in digits and "0" + number[3:] not in digits
    for words in ("Lieve groet", "Anna", "Wie zijn jullie", XSS_TITLE, XSS_TEXT):
        assert words not in text


def test_outreach_report_writes_a_pdf_with_the_hand_counted_figures(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, store, seeded = _world(world)
    config = config_file(settings, tmp_path)
    today = local(utcnow(), settings.sending.timezone).date()  # the report counts local days
    out = tmp_path / "kwartaal.pdf"
    period = ["--from", (today - timedelta(days=89)).isoformat(), "--to", today.isoformat()]
    assert run(["report", *period, "--out", str(out), "--language", "nl", "--config", config]) == 0
    assert "kwartaal.pdf" in capsys.readouterr().out
    text = _text(out.read_bytes())
    assert "Online outreach: rapportage" in text and "Demo Outreach" in text
    assert "stuurden we 12 personen een eerste bericht en kregen we van 6 van hen antwoord" in text
    assert "< 5 vroegen ons niets meer te sturen" in text  # one opt-out: a small group
    assert "Personen die een bericht kregen 12" in text and "Schreven terug 6" in text
    assert "alle benaderde personen 12 50% (25%–75%)" in text  # Wilson interval of 6 in 12
    for city in ("Amsterdam", "Rotterdam", "Utrecht"):  # 4 persons each: "< 5", no rate
        assert re.search(rf"{city} < 5 < 5 – (< 5|0)", text), city
    assert "kinky 6" in text and "rentboy 6" in text
    assert "Werkwijze en privacy" in text
    _no_personal_data(text, seeded)
    with store.session() as session:
        events = session.execute(select(AuditEvent.name, AuditEvent.fields)).all()
    assert any(name == "report.made" and fields["language"] == "nl" for name, fields in events)

    english = tmp_path / "report.pdf"
    assert run(["report", *period, "--out", str(english), "--language", "en", "--config", config]) == 0
    assert "sent a first message to 12 persons and heard back from 6 of them" in _text(english.read_bytes())


def test_the_report_refuses_bad_input_in_one_line_and_writes_nothing(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _store, _seeded = _world(world)
    config = config_file(settings, tmp_path)
    out = tmp_path / "r.pdf"
    cases = [
        (["--from", "2026-11-30", "--to", "2026-11-01"], "--to is before --from"),
        (["--from", "30-11-2026", "--to", "2026-12-01"], "--from: expected a date"),
        (["--from", "2026-11-01", "--to", "2026-11-30", "--language", "fr"], "--language: choose one of"),
    ]
    for arguments, message in cases:
        capsys.readouterr()
        assert run(["report", *arguments, "--out", str(out), "--config", config]) == 2
        error = capsys.readouterr().err.strip()
        assert message in error and len(error.splitlines()) == 1
    missing = tmp_path / "no-such-folder" / "r.pdf"
    assert run(["report", "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(missing), "--config", config]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob("**/*.partial"))


def test_the_dashboard_button_gives_the_report_of_the_period_shown(world: World) -> None:
    settings, store, seeded = _world(world)
    with client_for(create_app(settings)) as client:
        log_in(client, "alice")
        page = client.get("/stats?days=30").text
        assert 'href="/stats/report.pdf?days=30' in page
        answer = client.get("/stats/report.pdf?days=30")
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
        assert answer.headers["content-disposition"].startswith('attachment; filename="outreach-')
        text = _text(answer.content)
        assert "Personen die een bericht kregen 12" in text  # the user's language: the default, Dutch
        _no_personal_data(text, seeded)
        assert client.get("/stats/report.pdf?days=11").status_code == 400
    with store.session() as session:
        made = session.execute(select(func.count()).where(AuditEvent.name == "report.made")).scalar_one()
    assert made == 1
