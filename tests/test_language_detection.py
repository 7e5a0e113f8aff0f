"""Advert language: cleaning, the rules that send the fallback template, and the configured detector."""

from __future__ import annotations

import pytest

from messaging.language import (
    AdvertLanguage,
    Guess,
    LangdetectBackend,
    LinguaBackend,
    Policy,
    Py3langidBackend,
    Rule,
    clean_for_detection,
    make_detector,
)
from outreach.errors import ConfigError
from outreach.settings import load_settings

TEMPLATES = ["nl", "en", "ro", "pl", "es", "pt"]

DUTCH = "Hoi schat, ik ben nieuw in de stad en ontvang je graag in mijn discrete woning bij het station."
ENGLISH = "Hello darling, I am new in town and I would love to welcome you in my discreet apartment."
PORTUGUESE = "Olá amor, sou nova na cidade e adoro receber você no meu apartamento discreto perto da estação."
TURKISH = "Merhaba canım, şehirde yeniyim ve seni istasyonun yakınındaki sakin evimde ağırlamaktan mutluluk duyarım."


@pytest.fixture(scope="module")
def lingua() -> AdvertLanguage:
    return AdvertLanguage(LinguaBackend(), TEMPLATES, fallback="en")


class _Fixed:
    """A backend that always gives the same guess, to reach the confidence rule exactly."""

    name = "fixed"

    def __init__(self, guess: Guess | None) -> None:
        self.guess = guess

    def classify(self, text: str) -> Guess | None:
        return self.guess


@pytest.mark.parametrize(
    ("noise", "text"),
    [
        ("phone numbers", "Bel +31 6 12 34 56 78 of (020) 123 4567 of 06-12345678 nu"),
        ("prices", "Bel €150 of € 80,- of 100€/30min nu"),
        ("URLs", "Bel https://example.nl/ad?id=3 of www.example.nl/x of http://a.b nu"),
        ("e-mail addresses", "Bel mail@example.nl of x.y@example.com of a@b.co nu"),
        ("digits", "Bel 24/7 of 170cm of 23jr nu"),
        ("emoji", "Bel 😘💋 of ❤️👩‍❤️‍👨 of 🇳🇱 ★ nu"),
        ("site boilerplate", "Bel WhatsApp of SMS incall of outcall nu"),
    ],
)
def test_cleaning_removes_each_kind_of_advert_noise(noise: str, text: str) -> None:
    assert clean_for_detection(text) == "Bel of of nu", noise


def test_cleaning_keeps_thai_and_chinese_next_to_a_number() -> None:
    # Those scripts have no spaces: dropping "the token with a digit" would drop the whole sentence.
    assert clean_for_detection("2008年北京奥运会 ราคา1500บาท") == "年北京奥运会 ราคา บาท"


def test_the_same_text_always_gets_the_same_answer() -> None:
    text = "Nieuw 😘 hoi lieverd, kom je langs? 06-12345678"
    for backend in (LinguaBackend(), LangdetectBackend(), Py3langidBackend()):
        first = backend.classify(clean_for_detection(text))
        assert first is not None
        # A fresh instance too: langdetect samples at random, only its fixed seed makes it repeatable.
        again = type(backend)()
        assert [again.classify(clean_for_detection(text)) for _ in range(5)] == [first] * 5


def test_a_clear_dutch_advert_is_detected_and_gets_the_dutch_template(lingua: AdvertLanguage) -> None:
    decision = lingua.decide(f"💋 {DUTCH} €150 06-12345678")
    assert (decision.language, decision.rule, decision.template) == ("nl", Rule.DETECTED, "nl")
    assert decision.confidence >= 0.3
    assert lingua.detect(DUTCH) == "nl"


def test_an_advert_half_dutch_half_english_gets_the_fallback(lingua: AdvertLanguage) -> None:
    decision = lingua.decide(f"{DUTCH}\n{ENGLISH}")
    assert decision.rule is Rule.MIXED
    assert decision.template == "en"
    assert lingua.detect(f"{DUTCH}\n{ENGLISH}") is None
    shares = lingua.letter_shares(f"{DUTCH}\n{ENGLISH}")
    assert shares["nl"] > 0.25 and shares["en"] > 0.25


def test_a_dutch_advert_with_one_english_greeting_is_still_dutch(lingua: AdvertLanguage) -> None:
    decision = lingua.decide(f"Hi honey! {DUTCH} {DUTCH}")
    assert (decision.rule, decision.template) == (Rule.DETECTED, "nl")


def test_too_few_letters_gets_the_fallback(lingua: AdvertLanguage) -> None:
    decision = lingua.decide("Bel me 😘 06-12345678 €150 24/7")
    assert (decision.language, decision.rule, decision.template) == (None, Rule.TOO_SHORT, "en")
    assert lingua.detect("Bel me") is None


def test_a_language_without_template_gets_the_fallback_and_keeps_its_name(lingua: AdvertLanguage) -> None:
    decision = lingua.decide(TURKISH)
    assert (decision.language, decision.rule, decision.template) == ("tr", Rule.NO_TEMPLATE, "en")
    assert lingua.detect(TURKISH) == "tr"  # stored for the log; the template book falls back


def test_portuguese_uses_the_brazilian_portuguese_template(lingua: AdvertLanguage) -> None:
    decision = lingua.decide(PORTUGUESE)
    assert (decision.language, decision.rule, decision.template) == ("pt", Rule.DETECTED, "pt")
    regional = AdvertLanguage(_Fixed(Guess("pt-BR", 0.9)), TEMPLATES, fallback="en")
    assert regional.decide(PORTUGUESE).template == "pt"
    assert regional.detect(PORTUGUESE) == "pt"  # what the composer stores and renders with


@pytest.mark.parametrize(("confidence", "rule"), [(0.29, Rule.LOW_CONFIDENCE), (0.3, Rule.DETECTED)])
def test_below_the_confidence_threshold_the_fallback_is_used(confidence: float, rule: Rule) -> None:
    detector = AdvertLanguage(_Fixed(Guess("ro", confidence)), TEMPLATES, "en", Policy(min_confidence=0.3))
    decision = detector.decide("Salut dragă, sunt nouă în oraș")
    assert decision.rule is rule
    assert decision.template == ("ro" if rule is Rule.DETECTED else "en")


@pytest.mark.parametrize(
    ("name", "backend"), [("lingua", LinguaBackend), ("langdetect", LangdetectBackend), ("py3langid", Py3langidBackend)]
)
def test_the_detector_is_chosen_by_configuration(name: str, backend: type) -> None:
    settings = load_settings(language={"detector": name})
    detector = make_detector(settings)
    assert isinstance(detector.backend, backend)
    assert detector.decide(DUTCH).template == "nl"


def test_lingua_is_the_default_detector() -> None:
    assert isinstance(make_detector(load_settings()).backend, LinguaBackend)


def test_an_unknown_detector_or_a_single_mixed_language_fails_at_start_up_with_the_setting_name() -> None:
    with pytest.raises(ConfigError, match=r"setting language\.detector"):
        load_settings(language={"detector": "fasttext"})
    with pytest.raises(ConfigError, match=r"setting language\.mixed_languages"):
        load_settings(language={"mixed_languages": ["nl"]})
