"""docs/sites.md is generated from the site-file model, documents every field, and its worked examples are real
site files."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.sites import SiteDefinition
from outreach.cli import run
from outreach.config.site_reference import PATTERNS, fields, pattern_site, render

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "sites.md"


def test_the_committed_reference_is_what_the_model_generates() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        "docs/sites.md is out of date: run `outreach site reference > docs/sites.md`"
    )


def test_the_command_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["site", "reference"]) == 0
    assert capsys.readouterr().out == render()


def test_every_field_nested_ones_too_has_a_description() -> None:
    undocumented = [name for _section, name, info in fields() if not (info.description or "").strip()]
    assert undocumented == []
    names = {name for _section, name, _info in fields()}
    # Nested sections are walked: a few fields from deep inside, including a pick's alias.
    assert {"detail.reveal_number.form", "listing.page_parameter.step", "rate_limit.delay_seconds"} <= names


def test_every_required_field_has_an_example_in_the_reference() -> None:
    missing = [name for _section, name, info in fields() if info.is_required() and not info.examples]
    assert missing == []


@pytest.mark.parametrize(("title", "snippet"), [(title, snippet) for title, _when, snippet in PATTERNS])
def test_each_worked_example_is_a_valid_site_file(title: str, snippet: str) -> None:
    site = SiteDefinition.model_validate(pattern_site(snippet))
    assert site.name == "example", title
