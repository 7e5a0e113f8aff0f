"""`outreach templates check`: a message that does not say who sends it, how to stop, that costs too many parts or
that could give the recipient away never leaves, and the cycle does not start while one exists."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from messaging.template_check import check_templates, forbidden_in, require_templates_pass
from outreach.cli import run
from outreach.cycle.run import run_cycle
from outreach.errors import ConfigError
from outreach.settings import Settings, load_settings
from outreach.store.db import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "templates"
SHIPPED = ["nl", "en", "ro", "pl", "es", "bg", "pt", "hu", "nl-en"]
LONG_NAMES = {"name": "Stichting Voorbeeld", "fieldworker": "Fatima"}  # longer than the defaults


def _templates(tmp_path: Path, **files: str) -> Path:
    """A copy of the shipped templates with some files replaced (nl_b -> sms/nl.b.txt.j2)."""
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    for name, text in files.items():
        (folder / "sms" / f"{name.replace('_', '.')}.txt.j2").write_text(text, encoding="utf-8")
    return folder


def _settings(folder: Path = TEMPLATES, **overrides: Any) -> Settings:
    return load_settings(templates_dir=folder, **overrides)


def _problems(settings: Settings) -> dict[str, list[str]]:
    return {result.name: result.problems for result in check_templates(settings) if not result.ok}


@pytest.mark.parametrize("organisation", [{}, LONG_NAMES], ids=["default", "long-names"])
def test_every_shipped_template_passes_the_check(organisation: dict[str, str]) -> None:
    settings = _settings(languages=SHIPPED, fallback_language="nl-en", organisation=organisation)
    results = check_templates(settings)
    assert _problems(settings) == {}
    checked = {result.name for result in results}
    assert {f"sms/{lang}" for lang in SHIPPED} | {"sms/nl.b", "sms/opt_out_confirmation/nl-en"} <= checked
    assert {f"sms/reminder/{lang}" for lang in SHIPPED} <= checked
    assert {r.name: r.encoding for r in results if r.kind == "first_contact"}["sms/bg"] == "UCS-2"
    assert all(r.segments <= 2 for r in results)


def test_a_template_without_an_opt_out_line_is_rejected(tmp_path: Path) -> None:
    folder = _templates(tmp_path, nl="Hoi, ik ben {{ fieldworker }} van {{ organisation }}. Vragen? Antwoord gerust.")
    assert _problems(_settings(folder)) == {"sms/nl": ["no opt-out instruction: the stop keyword 'STOP' is missing"]}


def test_the_stop_keyword_must_be_a_whole_word(tmp_path: Path) -> None:
    folder = _templates(tmp_path, en="{{ organisation }}: we are unstoppable. Reply {{ stop }}PLEASE.")
    assert "sms/en" in _problems(_settings(folder))


def test_a_template_without_the_organisation_is_rejected(tmp_path: Path) -> None:
    folder = _templates(tmp_path, en="Hi, I am {{ fieldworker }}. Reply {{ stop }} to stop.")
    assert _problems(_settings(folder)) == {"sms/en": ["does not name the organisation 'Demo Outreach'"]}


@pytest.mark.parametrize(
    "sentence",
    ["Wij helpen sekswerkers.", "Wij helpen SEKSWERKERS.", "Geen políti̇e!", "We help sex  workers.", "Sex-work help."],
)
def test_a_forbidden_word_is_rejected_whatever_its_case_or_accents(tmp_path: Path, sentence: str) -> None:
    folder = _templates(tmp_path, nl=f"Hoi van {{{{ organisation }}}}. {sentence} Stop? Antwoord {{{{ stop }}}}.")
    problems = _problems(_settings(folder))
    assert list(problems) == ["sms/nl"]
    assert "(templates.forbidden_words)" in problems["sms/nl"][0]


def test_words_are_matched_whole_so_politics_is_not_police() -> None:
    words = ["politie", "police", "sex work"]
    assert forbidden_in("Politiek, policies and sex working hours", words) == []
    assert forbidden_in("De politie.", words) == ["politie"]


def test_the_forbidden_words_are_configurable(tmp_path: Path) -> None:
    settings = _settings(templates={"forbidden_words": ["gratis"]})
    first_contacts = {"sms/nl", "sms/nl.b", "sms/es", "sms/nl-en"}
    reminders = {"sms/reminder/nl", "sms/reminder/es", "sms/reminder/nl-en"}
    quick_replies = {"sms/reply/nl.Gratis en anoniem", "sms/reply/nl.Gezondheid", "sms/reply/nl.Geld en schulden"}
    assert set(_problems(settings)) == first_contacts | reminders | quick_replies


def test_a_reminder_must_say_how_to_stop_and_is_not_checked_when_reminders_are_off(tmp_path: Path) -> None:
    folder = _templates(tmp_path, reminder_nl="Hoi, nog even {{ fieldworker }} van {{ organisation }}.")
    (folder / "sms" / "reminder.nl.txt.j2").rename(folder / "sms" / "reminder" / "nl.txt.j2")
    problems = _problems(_settings(folder))
    assert problems == {"sms/reminder/nl": ["no opt-out instruction: the stop keyword 'STOP' is missing"]}
    assert _problems(_settings(folder, targeting={"reminder": {"enabled": False}})) == {}


def test_an_over_budget_template_is_rejected(tmp_path: Path) -> None:
    long = "Hoi van {{ organisation }}. " + "Dit is een lange zin. " * 14 + "Stop? Antwoord {{ stop }}."
    folder = _templates(tmp_path, nl=long)
    problems = _problems(_settings(folder))
    assert list(problems) == ["sms/nl"]
    assert problems["sms/nl"][0].startswith("3 SMS parts (") and "over the budget of 2" in problems["sms/nl"][0]
    assert _problems(_settings(folder, templates={"max_segments": 3})) == {}


def test_an_unknown_variable_is_rejected(tmp_path: Path) -> None:
    folder = _templates(tmp_path, nl_b="{{ organisation }} {{ help_offer }} Antwoord {{ stop }}.")
    assert _problems(_settings(folder)) == {"sms/nl.b": ["template sms/nl.b.txt.j2: 'help_offer' is undefined"]}


def test_an_opt_out_confirmation_is_checked_too(tmp_path: Path) -> None:
    folder = _templates(tmp_path)
    (folder / "sms" / "opt_out_confirmation" / "es.txt.j2").write_text("{{ organisation }} {{ nombre }}")
    problems = _problems(_settings(folder))
    assert list(problems) == ["sms/opt_out_confirmation/es"]


def test_a_missing_template_is_reported_not_crashed_on(tmp_path: Path) -> None:
    folder = _templates(tmp_path)
    (folder / "sms" / "ro.txt.j2").unlink()
    problems = _problems(_settings(folder))
    assert list(problems) == ["sms/ro"] and "no template" in problems["sms/ro"][0]


def test_the_command_prints_the_table_and_exits_0_when_all_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["templates", "check"]) == 0
    out = capsys.readouterr().out
    for heading in ("language", "channel", "encoding", "characters", "segments", "result"):
        assert heading in out
    assert "GSM-7" in out and "UCS-2" in out  # the Romanian opt-out confirmation keeps its diacritics


def test_the_command_exits_1_with_a_clear_message_when_a_template_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _templates(tmp_path, nl="Hoi van {{ organisation }}, de politie helpt. Antwoord {{ stop }}.")
    monkeypatch.setenv("OUTREACH_TEMPLATES_DIR", str(folder))
    assert run(["templates", "check"]) == 1
    captured = capsys.readouterr()
    assert "contains 'politie'" in captured.out
    assert captured.err.strip() == "error: 1 template(s) fail the check: sms/nl"


def test_a_bad_setting_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTREACH_TEMPLATES__MAX_SEGMENTS", "0")
    assert run(["templates", "check"]) == 2


def test_the_cycle_refuses_to_start_while_the_check_fails(
    tmp_path: Path, keys: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _templates(tmp_path, en="Hi from {{ organisation }}. Questions? Just reply.")
    database = tmp_path / "outreach.db"
    settings = _settings(folder, database_url=f"sqlite:///{database}", sites_dir=tmp_path / "sites", **keys)
    with pytest.raises(ConfigError, match=r"template sms/en: no opt-out instruction"):
        require_templates_pass(settings)
    with pytest.raises(ConfigError, match=r"template sms/en: no opt-out instruction"):
        run_cycle(settings, actor="alice")
    assert not database.exists()  # nothing was crawled, recorded or sent

    monkeypatch.setenv("OUTREACH_TEMPLATES_DIR", str(folder))
    for name, value in keys.items():
        monkeypatch.setenv(f"OUTREACH_{name.upper()}", value)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", f"sqlite:///{database}")
    assert run(["cycle"]) == 2
    assert "error: template sms/en: no opt-out instruction" in capsys.readouterr().err
    assert not database.exists()


def test_preview_shows_exactly_the_body_encoding_and_parts(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["templates", "preview", "--lang", "ro"]) == 0
    out = capsys.readouterr().out
    assert "sms/ro variant a: GSM-7, 211 characters, 2 SMS part(s)" in out
    assert "Buna, sunt Sanne de la Demo Outreach." in out
    assert run(["templates", "preview", "--lang", "nl"]) == 0
    out = capsys.readouterr().out
    assert "sms/nl variant a" in out and "sms/nl variant b" in out and "Hoi, dit is Demo Outreach." in out


def test_preview_of_a_language_without_template_shows_the_fallback(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["templates", "preview", "--lang", "th"]) == 0
    out = capsys.readouterr().out
    assert "the fallback 'nl-en' is sent" in out and "Vragen? Questions?" in out


def test_preview_needs_a_language_or_an_advert() -> None:
    assert run(["templates", "preview"]) == 2


def test_preview_of_an_advert_detects_its_language_and_shows_its_persons_variant(
    tmp_path: Path, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from messaging.templates import assign_variant
    from outreach.crypto import PhoneVault
    from outreach.store.adverts import FoundPhone, person_id
    from outreach.store.db import Store, upgrade
    from outreach.store.models import Advert, AdvertPerson, Site
    from outreach.store.types import utcnow

    database_url = f"sqlite:///{tmp_path / 'outreach.db'}"
    upgrade(database_url)
    vault = PhoneVault.from_settings(_settings(TEMPLATES, database_url=database_url, **keys))
    with Store(database_url) as store, store.session() as session:
        site = Site(name="example")
        session.add(site)
        session.flush()
        advert = Advert(
            site_id=site.id,
            site_ad_id="1",
            url_encrypted=vault.encrypt("https://example.invalid/1"),
            url_key=vault.url_key("https://example.invalid/1"),
            title="Nieuw in de stad",
            text="Hoi, ik ben net nieuw in de stad en ik ontvang je graag in mijn rustige appartement.",
            content_hash="0" * 64,
        )
        session.add(advert)
        session.flush()
        person = person_id(session, vault, FoundPhone("+31612345678", "NL", True), utcnow())
        session.add(AdvertPerson(advert_id=advert.id, person_id=person))
        advert_id = advert.id
    monkeypatch.setenv("OUTREACH_DATABASE_URL", database_url)

    assert run(["templates", "preview", "--advert", str(advert_id)]) == 0
    out = capsys.readouterr().out
    variant = assign_variant(["a", "b"], person, "outreach")
    assert "detected nl" in out and "rule detected, template nl" in out
    assert f"person {person} is assigned variant {variant}" in out
    assert f"sms/nl variant {variant}: GSM-7" in out
    assert ("Hoi, dit is Demo Outreach." in out) == (variant == "b")
    assert run(["templates", "preview", "--advert", "999"]) == 2


def test_each_organisations_signature_is_checked_too() -> None:
    long_name = {
        "key": "long",
        "name": "Stichting Voor Heel Lange Namen En Nog Langere Omschrijvingen Van Wat Wij Doen",
        "fieldworker": "Maximiliaan",
        "municipalities": ["Delft"],
    }
    short_name = {"key": "short", "name": "Kort", "fieldworker": "Ed", "municipalities": ["Leiden"]}
    settings = _settings(languages=SHIPPED, fallback_language="nl-en", organisations=[long_name, short_name])
    failures = [r for r in check_templates(settings) if not r.ok]
    assert failures and all(p.startswith("organisation long: ") for r in failures for p in r.problems)
    assert any("SMS parts" in p for r in failures for p in r.problems)
