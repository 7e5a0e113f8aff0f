"""Language detectors behind one small interface: cleaned text in, best language and its confidence out.

The three were compared on real text in bench/langid (results in BENCHMARKS.md). Each is deterministic: the same
text always gets the same answer.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from outreach.errors import ConfigError

# The languages the research names for adverts in the Netherlands: what a detector chooses among by default.
RESEARCH_LANGUAGES = (
    "nl",
    "en",
    "ro",
    "bg",
    "pl",
    "es",
    "pt",
    "hu",
    "ru",
    "uk",
    "de",
    "fr",
    "it",
    "sq",
    "th",
    "zh",
    "tr",
)


@dataclass(frozen=True)
class Guess:
    language: str  # ISO 639-1
    confidence: float  # 0..1, the detector's own probability for that language


class LanguageBackend(Protocol):
    name: str

    def classify(self, text: str) -> Guess | None:
        """The most likely language of text already cleaned; None when the detector cannot tell."""
        ...


class LangdetectBackend:
    """langdetect (the design card's choice): a seeded random sampler of n-grams, hence the fixed seed."""

    name = "langdetect"

    def __init__(self, languages: Sequence[str] | None = RESEARCH_LANGUAGES, seed: int = 0) -> None:
        import langdetect
        from langdetect import DetectorFactory

        self._factory = DetectorFactory()
        folder = os.path.join(os.path.dirname(langdetect.__file__), "profiles")
        if languages is None:
            self._factory.load_profile(folder)
        else:
            # langdetect has two Chinese profiles (zh-cn, zh-tw); both stand for zh.
            wanted = {code for code in os.listdir(folder) if code.split("-")[0] in set(languages)}
            profiles = []
            for code in sorted(wanted):
                with open(os.path.join(folder, code), encoding="utf-8") as handle:
                    profiles.append(handle.read())
            self._factory.load_json_profile(profiles)
        self._factory.set_seed(seed)

    def classify(self, text: str) -> Guess | None:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._factory.create()
        detector.append(text)
        try:
            ranked = detector.get_probabilities()
        except LangDetectException:  # no n-gram it knows
            return None
        if not ranked:
            return None
        return Guess(ranked[0].lang.split("-")[0], float(ranked[0].prob))


class LinguaBackend:
    """Lingua (Rust core): n-gram models up to five letters plus rules for unique characters; the high-accuracy
    mode adds the long n-grams that help most on short texts, at more memory."""

    def __init__(self, languages: Sequence[str] = RESEARCH_LANGUAGES, high_accuracy: bool = True) -> None:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        chosen = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in languages]
        builder = LanguageDetectorBuilder.from_languages(*chosen).with_preloaded_language_models()
        if not high_accuracy:
            builder = builder.with_low_accuracy_mode()
        self._detector: Any = builder.build()
        self.name = "lingua" if high_accuracy else "lingua-low"

    def classify(self, text: str) -> Guess | None:
        values = self._detector.compute_language_confidence_values(text)
        if not values or values[0].value <= 0.0:
            return None
        # Lingua sums probabilities in a hash-map order that differs between detector instances, so the last bits
        # of a confidence vary; rounded, the same text always gives the same number.
        return Guess(values[0].language.iso_code_639_1.name.lower(), round(float(values[0].value), 6))


class Py3langidBackend:
    """py3langid: langid.py's naive Bayes over byte n-grams, restricted to the languages we care about."""

    name = "py3langid"

    def __init__(self, languages: Sequence[str] = RESEARCH_LANGUAGES) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self._identifier: Any = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self._identifier.set_languages(list(languages))

    def classify(self, text: str) -> Guess | None:
        language, confidence = self._identifier.classify(text)
        if language == "und":
            return None
        return Guess(str(language), float(confidence))


BACKENDS = ("lingua", "lingua-low", "langdetect", "py3langid")


def make_backend(name: str, languages: Sequence[str] = RESEARCH_LANGUAGES) -> LanguageBackend:
    if name == "lingua":
        return LinguaBackend(languages, high_accuracy=True)
    if name == "lingua-low":
        return LinguaBackend(languages, high_accuracy=False)
    if name == "langdetect":
        return LangdetectBackend(languages)
    if name == "py3langid":
        try:
            return Py3langidBackend(languages)
        except ModuleNotFoundError as exc:  # an optional extra: the default is lingua
            raise ConfigError(
                "language.detector: py3langid is not installed: pip install 'outreach[py3langid]'"
            ) from exc
    raise ValueError(f"unknown language detector {name!r}; one of {', '.join(BACKENDS)}")
