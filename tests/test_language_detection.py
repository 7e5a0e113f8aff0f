"""Advert language: cleaning, the rules that send the fallback template, and the configured detector."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from messaging.language import (
    AdvertLanguage,
    CombinedBackend,
    Guess,
    LangdetectBackend,
    LinguaBackend,
    Policy,
    Py3langidBackend,
    Rule,
    clean_for_detection,
    make_backend,
    make_detector,
)
from messaging.language.backends import RESEARCH_LANGUAGES
from messaging.language.scripts import information, possible_languages
from messaging.language.words import WordFrequencies, words
from outreach.errors import ConfigError
from outreach.settings import load_settings

TEMPLATES = ["nl", "en", "ro", "pl", "es", "pt"]

DUTCH = "Hoi schat, ik ben nieuw in de stad en ontvang je graag in mijn discrete woning bij het station."
ENGLISH = "Hello darling, I am new in town and I would love to welcome you in my discreet apartment."
PORTUGUESE = "Olá amor, sou nova na cidade e adoro receber você no meu apartamento discreto perto da estação."
TURKISH = "Merhaba canım, şehirde yeniyim ve seni istasyonun yakınındaki sakin evimde ağırlamaktan mutluluk duyarım."


@pytest.fixture(scope="module")
def lingua() -> AdvertLanguage:
    """The default detector (the name is older than the choice)."""
    return AdvertLanguage(make_backend(load_settings().language.detector), TEMPLATES, fallback="en")


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
    for backend in (CombinedBackend(), LinguaBackend(), LangdetectBackend(), Py3langidBackend()):
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
    ("name", "backend"),
    [
        ("combined", CombinedBackend),
        ("lingua", LinguaBackend),
        ("lingua-low", LinguaBackend),
        ("langdetect", LangdetectBackend),
        ("py3langid", Py3langidBackend),
    ],
)
def test_the_detector_is_chosen_by_configuration(name: str, backend: type) -> None:
    settings = load_settings(language={"detector": name})
    detector = make_detector(settings)
    assert isinstance(detector.backend, backend)
    assert detector.decide(DUTCH).template == "nl"


def test_py3langid_with_word_frequencies_is_the_default() -> None:
    backend = make_detector(load_settings()).backend
    assert isinstance(backend, Py3langidBackend)
    assert backend.words is not None  # refined by word frequencies
    plain = make_detector(load_settings(language={"word_frequencies": False})).backend
    assert isinstance(plain, Py3langidBackend)
    assert plain.words is None


def test_an_unknown_detector_or_a_single_mixed_language_fails_at_start_up_with_the_setting_name() -> None:
    with pytest.raises(ConfigError, match=r"setting language\.detector"):
        load_settings(language={"detector": "fasttext"})
    with pytest.raises(ConfigError, match=r"setting language\.mixed_languages"):
        load_settings(language={"mixed_languages": ["nl"]})


# Short adverts in scripts other than Latin: each gets its language or the fallback, and says why.
BULGARIAN_TEMPLATES = [*TEMPLATES, "bg"]


@pytest.fixture(scope="module")
def with_bulgarian() -> AdvertLanguage:
    """The default detector."""
    return AdvertLanguage(make_backend(load_settings().language.detector), BULGARIAN_TEMPLATES, fallback="en")


def test_a_chinese_character_counts_as_three_letters_and_a_thai_letter_as_two() -> None:
    assert information("新来的女孩") == 15
    assert information("สาวสวย") == 12  # six Thai letters
    assert information("Hoi schat") == 8


@pytest.mark.parametrize(
    ("text", "language"),
    [("新来的女孩 😘 06-12345678", "zh"), ("สาวไทยน่ารัก 💋 1500", "th")],
)
def test_a_short_chinese_or_thai_advert_is_not_too_short_and_is_named(
    with_bulgarian: AdvertLanguage, text: str, language: str
) -> None:
    # Five Chinese characters are a sentence: counted as letters they were "too short" (issue 20).
    decision = with_bulgarian.decide(text)
    assert (decision.language, decision.rule, decision.template) == (language, Rule.NO_TEMPLATE, "en")


@pytest.mark.parametrize("text", ["你好", "สวย", "Хей"])
def test_a_chinese_thai_or_cyrillic_greeting_alone_is_too_short(with_bulgarian: AdvertLanguage, text: str) -> None:
    decision = with_bulgarian.decide(f"{text} 😘 +31 6 12 34 56 78")
    assert (decision.language, decision.rule, decision.template) == (None, Rule.TOO_SHORT, "en")


def test_a_short_bulgarian_advert_gets_the_bulgarian_template(with_bulgarian: AdvertLanguage) -> None:
    decision = with_bulgarian.decide("Нова мома в града 💋 €100")
    assert (decision.language, decision.rule, decision.template) == ("bg", Rule.DETECTED, "bg")


@pytest.mark.parametrize("text", ["Новая девушка в городе", "Новая девушка, звоните", "Приходи ко мне, это я"])
def test_a_short_russian_advert_never_gets_the_bulgarian_template(with_bulgarian: AdvertLanguage, text: str) -> None:
    decision = with_bulgarian.decide(f"{text} 😘 06-12345678")
    assert decision.template == "en"
    assert (decision.language, decision.rule) == ("ru", Rule.NO_TEMPLATE)


def test_cyrillic_letters_rule_out_the_languages_that_never_write_them() -> None:
    languages = ["bg", "ru", "uk", "nl", "en"]
    assert possible_languages("Привет, это я", languages) == {"ru"}  # э: Russian only
    assert possible_languages("Привіт, це я", languages) == {"uk"}  # і: Ukrainian only
    assert possible_languages("Аз съм нова", languages) == {"bg", "ru"}  # ъ: never Ukrainian
    assert possible_languages("Hoi, ik ben nieuw", languages) == {"nl", "en"}


def test_a_script_no_candidate_writes_gets_the_fallback_as_unclear(with_bulgarian: AdvertLanguage) -> None:
    decision = with_bulgarian.decide("こんにちは、新しい女の子です")
    assert (decision.language, decision.rule, decision.template) == (None, Rule.LOW_CONFIDENCE, "en")


def test_an_english_title_naming_a_dutch_town_does_not_make_an_english_advert_mixed(lingua: AdvertLanguage) -> None:
    # The title reads as Dutch ("aan den" are Dutch words): judged apart from the text, it only counts towards the
    # language. (As a sentence of the text it counts as Dutch since the word refinement, issue 20.)
    text = f"{ENGLISH} I speak English and a little bit of German."
    decided = lingua.decide(text, title="Lucia welcomes you in Capelle aan den IJssel")
    assert (decided.rule, decided.template) == (Rule.DETECTED, "en")


def test_a_title_naming_a_dutch_town_does_not_make_an_english_advert_mixed() -> None:
    """The mix is judged on the advert's text: a title is a name and a place ("Sweet Lisa in Rijswijk" reads as
    Dutch), while a Dutch and an English sentence in the text are a mix (issue 20: mixed_share 0.15)."""
    detector = make_detector(load_settings())
    title = "Sweet Lisa in Rijswijk"
    english = "Hello darling, I am new in town and would love to meet you for a relaxing massage tonight."
    dutch = "Hoi schat, ik ben nieuw in de stad en ik zou je graag ontmoeten voor een ontspannende massage."
    decided = detector.decide(english, title=title)
    assert (decided.rule, decided.template) == (Rule.DETECTED, "en")
    assert detector.decide(f"{title}. {english}").rule is Rule.MIXED  # the same words as one text
    assert detector.decide(f"{dutch} {english}", title=title).rule is Rule.MIXED
    assert detector.decide(f"{english} {dutch}").rule is Rule.MIXED


# Short Russian, Ukrainian and Bulgarian texts without a letter only one of them writes: told apart by their words
# (messaging/language/words.py; the n-gram detectors alone were unsure or wrong on such texts, issue 20).
SHORT_CYRILLIC = [
    ("ru", "Приходи ко мне, я жду"),
    ("ru", "Только для тебя, звони"),
    ("ru", "Жду тебя сегодня вечером"),
    ("uk", "Що це таке, кохана?"),
    ("uk", "Приходь до мене зараз"),
    ("uk", "Чекаю на тебе завжди"),
    ("bg", "Чакам те довечера"),
    ("bg", "Обади ми се сега"),
    ("bg", "Ела при мен довечера"),
]


@pytest.mark.parametrize(("language", "text"), SHORT_CYRILLIC)
def test_short_russian_ukrainian_and_bulgarian_get_their_language_surely(
    with_bulgarian: AdvertLanguage, language: str, text: str
) -> None:
    decision = with_bulgarian.decide(f"{text} 💋 06-12345678")
    assert decision.language == language
    assert decision.confidence >= 0.9
    expected = (Rule.DETECTED, "bg") if language == "bg" else (Rule.NO_TEMPLATE, "en")
    assert (decision.rule, decision.template) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [("что это", "ru"), ("що це", "uk"), ("че е така", "bg"), ("Ти си моето момиче", "bg"), ("Ти моя дівчина", "uk")],
)
def test_the_words_alone_name_the_language_of_common_function_words(text: str, language: str) -> None:
    found = WordFrequencies(RESEARCH_LANGUAGES).probabilities(text, ["ru", "uk", "bg"])
    assert max(found, key=lambda name: found[name]) == language
    assert found[language] > 0.9


def test_the_words_say_nothing_without_a_known_word_or_with_one_candidate() -> None:
    model = WordFrequencies(RESEARCH_LANGUAGES)
    assert model.probabilities("Хххх Ъъъъ 123", ["ru", "uk", "bg"]) == {}
    assert model.probabilities("что это", ["ru", "sq"]) == {}  # one candidate with a list: nothing to choose
    assert WordFrequencies(["ru", "nl"]).probabilities("что это", ["ru", "uk", "bg"]) == {}  # only ru loaded
    assert words("Пам’ять і п'ять, ДЕВУШКА") == ["пам'ять", "і", "п'ять", "девушка"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Tu lindo rostro se desvanece", "es"),
        ("Su lindo rostro se desvanecia en mi mente", "es"),
        ("O teu lindo rosto desaparece", "pt"),
        ("Il tuo bel viso svanisce", "it"),
        ("Az jo, mert kozel van", "hu"),  # Hungarian without its accents
    ],
)
def test_the_words_tell_short_latin_sentences_apart_too(text: str, language: str) -> None:
    found = WordFrequencies(RESEARCH_LANGUAGES).probabilities(text, RESEARCH_LANGUAGES)
    assert max(found, key=lambda name: found[name]) == language
    assert "sq" not in found  # no list: Albanian keeps the detector's share (backends._Ranked)


def test_a_language_without_a_word_list_keeps_its_share() -> None:
    backend = Py3langidBackend()
    found = {"sq": 0.5, "it": 0.3, "es": 0.2}
    refined = backend._with_words(found, {"it": 0.1, "es": 0.9})
    assert refined["sq"] == 0.5
    assert refined["it"] + refined["es"] == pytest.approx(0.5)
    assert refined["es"] > refined["it"]


def test_the_word_refinement_leaves_other_scripts_alone() -> None:
    plain, refined = make_backend("py3langid", words=False), make_backend("py3langid")
    for text in ("新来的女孩在城里", "สาวไทยน่ารักมาใหม่", "Përshëndetje, jam e re në qytet"):
        cleaned = clean_for_detection(text)
        assert refined.classify(cleaned) == plain.classify(cleaned)


def test_a_word_missing_from_a_list_counts_as_rarer_than_its_rarest_word(tmp_path: Path) -> None:
    path = tmp_path / "words.json.gz"
    # Bucket n: frequency 10^(-n/100). "bom" is each list's rarest word; "dia" is only Portuguese's.
    lists = {"pt": {"bom": 500, "dia": 500}, "es": {"bom": 500, "hola": 400}}
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump({"languages": lists}, handle)
    for cost in (0, 75, 100):
        found = WordFrequencies(["pt", "es"], path=path, missing_below_rarest=cost).probabilities(
            "bom dia", ["pt", "es"]
        )
        # Spanish pays the missing "dia" at its rarest bucket (500) plus the cost; Portuguese pays 500 for it.
        assert found["pt"] / found["es"] == pytest.approx(10 ** (cost / 100))
    assert WordFrequencies(["pt", "es"], path=path).probabilities("bom dia", ["pt", "es"])["pt"] == pytest.approx(
        10**0.75 / (1 + 10**0.75)
    )
