"""The targeting policy for one advert (region, target groups, keywords) and its configuration: validated at start-up
with one line that names the setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from outreach.cli import run
from outreach.errors import ConfigError
from outreach.settings import TargetingSettings, load_settings
from outreach.targeting.groups import target_group
from outreach.targeting.policy import Policy, Verdict
from outreach.targeting.reasons import Reason, describe


def _policy(**values: Any) -> Policy:
    return Policy(TargetingSettings(**values))


def _judge(policy: Policy, text: str = "Bel voor een afspraak.", **advert: Any) -> Verdict:
    values = {"city": "Rotterdam", "category": "vrouw", "title": "", "text": text, **advert}
    return policy.judge(**values)


def test_the_defaults_message_every_advert() -> None:
    policy = _policy()
    for city, category in (("Amsterdam", "man"), (None, None), ("Groningen", "iets anders")):
        assert _judge(policy, city=city, category=category).passes


def test_a_served_municipality_is_recognised_in_its_other_names_and_districts() -> None:
    policy = _policy(municipalities=["The Hague", "rotterdam"])
    for city in ("Den Haag", "'s-Gravenhage", "Scheveningen", "Rotterdam-Zuid", "Hoogvliet", "ROTTERDAM centrum"):
        assert _judge(policy, city=city).passes, city
    assert _judge(policy, city="Hoofddorp") == Verdict(Reason.OUT_OF_REGION, "Haarlemmermeer")
    assert _judge(policy, city=None).hold == "no city"
    assert _judge(_policy(municipalities=["Delft"], unknown_city="skip"), city=" ") == Verdict(Reason.NO_CITY)


def test_categories_are_target_groups_in_the_sites_words() -> None:
    assert [target_group(c) for c in ("Vrouw", "DAMES", "heren", "Trans", "stel", "koppel", "robot", None)] == [
        "women",
        "women",
        "men",
        "trans",
        "couples",
        "couples",
        None,
        None,
    ]
    policy = _policy(categories=["men", "trans"], unknown_category="skip")
    assert _judge(policy, category="Jongens").passes
    assert _judge(policy, category="vrouw") == Verdict(Reason.WRONG_CATEGORY, "vrouw (women)")
    assert _judge(policy, category="robot") == Verdict(Reason.UNKNOWN_CATEGORY, "robot")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Welkom in het privéhuis.", "privéhuis"),
        ("WELKOM IN HET PRIVEHUIS!", "privéhuis"),
        ("Welkom (privéhuis), bel.", "privéhuis"),
        ("Via een escort-bureau.", "escort bureau"),
        ("Via een escort bureau.", "escort bureau"),
        ("Het privéhuisje en de bureaus.", None),  # whole words only
        ("Escortbureau Noord.", None),
    ],
)
def test_keywords_match_whole_words_whatever_the_case_accents_or_punctuation(text: str, expected: str | None) -> None:
    policy = _policy(keywords={"exclude": ["privéhuis", "escort bureau"]})
    verdict = _judge(policy, text=text)
    assert verdict == (Verdict(Reason.EXCLUDED_KEYWORD, expected) if expected else Verdict())


def test_a_skip_wins_over_a_hold_and_exclude_over_include() -> None:
    policy = _policy(
        municipalities=["Rotterdam"],
        keywords={"include": ["afspraak"], "exclude": ["bureau"], "hold": ["17 jaar"]},
    )
    assert _judge(policy, text="17 jaar, afspraak", city="Utrecht").reason == Reason.OUT_OF_REGION
    assert _judge(policy, text="17 jaar, afspraak via bureau").reason == Reason.EXCLUDED_KEYWORD
    assert _judge(policy, text="17 jaar").reason == Reason.NO_INCLUDED_KEYWORD
    assert _judge(policy, text="Ik ben 17 jaar. Afspraak?") == Verdict(hold="keyword: 17 jaar")
    assert _judge(policy, text="Ik ben 117 jaar. Afspraak?").passes
    # The title counts as much as the text.
    assert _judge(policy, title="Nieuw: 17 jaar", text="afspraak").hold == "keyword: 17 jaar"


def test_reasons_read_as_sentences() -> None:
    assert describe("contacted", "2026-11-20") == "contacted on 2026-11-20"
    assert describe("excluded_keyword", "bureau") == "excluded keyword: bureau"
    assert describe("other_advert", "12") == "person messaged through advert 12"
    assert describe("opted_out", None) == "opted out"
    assert describe("something_newer", None) == "something_newer"


@pytest.mark.parametrize(
    ("targeting", "message"),
    [
        ({"municipalites": ["Delft"]}, "setting targeting.municipalites: Extra inputs are not permitted"),
        ({"categories": ["women", "boys"]}, "setting targeting.categories.1: Input should be 'women', 'men'"),
        ({"unknown_city": "ask"}, "setting targeting.unknown_city: Input should be 'skip' or 'hold'"),
        ({"keywords": {"hold": ["?!", "x"]}}, "setting targeting.keywords.hold: Value error, '?!' has no letters"),
        ({"keywords": {"include": ["Bureau"], "exclude": ["búreau"]}}, "'búreau' is in both include and exclude"),
        ({"reminder": {"after_days": 0}}, "setting targeting.reminder.after_days: Input should be greater than"),
        ({"reminder": {"after_days": 200}}, "targeting.reminder.after_days must be less than recontact_days"),
    ],
)
def test_a_bad_targeting_setting_is_one_line_naming_it(
    targeting: dict[str, Any], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(targeting=targeting)
    assert message in str(raised.value)
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"targeting": targeting}), encoding="utf-8")
    assert run(["review", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
