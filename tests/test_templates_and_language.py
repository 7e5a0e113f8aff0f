"""Every message says who sends it and how to stop; the advert's language picks the template."""

from __future__ import annotations

from pathlib import Path

import pytest

from messaging.language import clean_for_detection, make_detector
from messaging.templates import TemplateBook
from outreach.errors import ConfigError
from outreach.settings import OrganisationSettings, load_settings
from outreach.store.db import PROJECT_ROOT
from testworld.fixture_site import generate

TEMPLATES = PROJECT_ROOT / "templates"
LANGUAGES = ["nl", "en", "ro", "pl", "es", "bg", "pt", "hu", "nl-en"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_names_the_organisation_the_fieldworker_and_how_to_stop(language: str) -> None:
    book = TemplateBook(TEMPLATES, LANGUAGES, "en")
    organisation = OrganisationSettings(name="Stichting Voorbeeld", fieldworker="Fatima", stop_keyword="STOP")
    rendered = book.render(language, organisation)
    assert rendered.language == language
    for needed in ("Stichting Voorbeeld", "Fatima", "STOP"):
        assert needed in rendered.body
    assert len(rendered.body) <= 320  # two SMS parts at most in GSM-7


@pytest.mark.parametrize("language", ["ro", "pl", "es", "bg", "pt", "hu"])
def test_every_template_not_written_by_a_dutch_or_english_fieldworker_says_it_needs_native_review(
    language: str,
) -> None:
    first_line = (TEMPLATES / "sms" / f"{language}.txt.j2").read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith("{#") and "native speaker" in first_line


def test_the_bilingual_fallback_speaks_dutch_and_english() -> None:
    body = TemplateBook(TEMPLATES, LANGUAGES, "nl-en").render(None, OrganisationSettings()).body
    assert body.startswith("Hoi/Hi") and "Wij helpen" in body and "We help" in body
    assert "{#" not in body  # the header comment is not sent


def test_a_language_without_template_gets_the_fallback() -> None:
    book = TemplateBook(TEMPLATES, LANGUAGES, "en")
    assert book.render("th", OrganisationSettings()).language == "en"
    assert book.render(None, OrganisationSettings()).language == "en"


def test_a_configured_language_without_template_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no template .* for language 'xx'"):
        TemplateBook(TEMPLATES, ["nl", "xx"], "nl")


def test_cleaning_removes_what_is_not_language() -> None:
    assert clean_for_detection("Bel [number] of mail x@y.nl, €150 24/7 https://a.b/c 😘 nu") == "Bel of mail nu"


@pytest.mark.parametrize("name", ["py3langid", "combined", "lingua", "langdetect"])
def test_it_detects_the_language_of_every_fixture_advert_the_same_way_each_time(name: str) -> None:
    detector = make_detector(load_settings(language={"detector": name}))
    adverts = generate(seed=1, count=300).adverts
    wrong = [
        (ad.id, ad.language, detector.detect(ad.text, ad.title))
        for ad in adverts
        if detector.detect(ad.text, ad.title) != ad.language
    ]
    assert wrong == []
    assert detector.detect("Bel me") is None  # too few letters to tell
