"""Language detectors behind one small interface: cleaned text in, best language and its confidence out.

They were compared on real text in bench/langid (results in BENCHMARKS.md). Each is deterministic: the same text
always gets the same answer. Each gives its probabilities over the candidate languages, and one rule turns them into a
guess: only the languages the text's script allows (messaging/language/scripts.py) compete, and when the script
leaves one, it is the answer.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from messaging.language.scripts import possible_languages
from messaging.language.words import WordFrequencies
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


class _Ranked:
    """The guess from a detector's probabilities, within what the script allows; with words set (with_words), the
    languages that have a word list are told apart by their words as well: their share of the detector's probability
    split anew in proportion to the detector's probability times the words' (words.py)."""

    languages: tuple[str, ...]
    words: WordFrequencies | None = None
    _WORDS_FLOOR = 1e-4  # as in CombinedBackend: the detector's zero does not veto the words' certainty

    def probabilities(self, text: str) -> dict[str, float]:
        """The detector's probability for each candidate language ({} when it cannot tell)."""
        raise NotImplementedError

    def classify(self, text: str) -> Guess | None:
        allowed = possible_languages(text, self.languages)
        if not allowed:  # a script none of the candidates is written in
            return None
        if len(allowed) == 1:
            return Guess(next(iter(allowed)), 1.0)
        found = self.probabilities(text)
        if self.words is not None and found:
            found = self._with_words(found, self.words.probabilities(text, allowed))
        scores = {language: p for language, p in found.items() if language in allowed}
        total = sum(scores.values())
        if total <= 0.0:
            return None
        best = max(sorted(scores), key=lambda language: scores[language])
        # Rounded: the same text gives the same number whatever order a detector summed in.
        return Guess(best, round(scores[best] / total, 6))

    def _with_words(self, found: dict[str, float], by_words: dict[str, float]) -> dict[str, float]:
        """The languages with a list (by_words) keep their share of the probability, split by detector x words; the
        others (Albanian, say) keep theirs."""
        if not by_words:
            return found
        share = sum(found.get(language, 0.0) for language in by_words)
        joint = {language: (found.get(language, 0.0) + self._WORDS_FLOOR) * p for language, p in by_words.items()}
        total = sum(joint.values())
        return {**found, **{language: share * value / total for language, value in joint.items()}}


class LangdetectBackend(_Ranked):
    """langdetect (the design card's choice): a seeded random sampler of n-grams, hence the fixed seed."""

    name = "langdetect"

    def __init__(self, languages: Sequence[str] | None = RESEARCH_LANGUAGES, seed: int = 0) -> None:
        import langdetect
        from langdetect import DetectorFactory

        self._factory = DetectorFactory()
        self.languages = tuple(languages or ())
        folder = os.path.join(os.path.dirname(langdetect.__file__), "profiles")
        if languages is None:
            self._factory.load_profile(folder)
            self.languages = tuple(sorted({code.split("-")[0] for code in os.listdir(folder)}))
        else:
            # langdetect has two Chinese profiles (zh-cn, zh-tw); both stand for zh.
            wanted = {code for code in os.listdir(folder) if code.split("-")[0] in set(languages)}
            profiles = []
            for code in sorted(wanted):
                with open(os.path.join(folder, code), encoding="utf-8") as handle:
                    profiles.append(handle.read())
            self._factory.load_json_profile(profiles)
        self._factory.set_seed(seed)

    def probabilities(self, text: str) -> dict[str, float]:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._factory.create()
        detector.append(text)
        try:
            ranked = detector.get_probabilities()
        except LangDetectException:  # no n-gram it knows
            return {}
        out: dict[str, float] = {}
        for item in ranked:  # zh-cn and zh-tw both count for zh
            language = item.lang.split("-")[0]
            out[language] = out.get(language, 0.0) + float(item.prob)
        return out


class LinguaBackend(_Ranked):
    """Lingua (Rust core): n-gram models up to five letters plus rules for unique characters; the high-accuracy
    mode adds the long n-grams that help most on short texts, at more memory."""

    def __init__(self, languages: Sequence[str] = RESEARCH_LANGUAGES, high_accuracy: bool = True) -> None:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        chosen = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in languages]
        builder = LanguageDetectorBuilder.from_languages(*chosen).with_preloaded_language_models()
        if not high_accuracy:
            builder = builder.with_low_accuracy_mode()
        self._detector: Any = builder.build()
        self.languages = tuple(languages)
        self.name = "lingua" if high_accuracy else "lingua-low"

    def probabilities(self, text: str) -> dict[str, float]:
        values = self._detector.compute_language_confidence_values(text)
        return {value.language.iso_code_639_1.name.lower(): float(value.value) for value in values}


class Py3langidBackend(_Ranked):
    """py3langid: langid.py's naive Bayes over byte n-grams, restricted to the languages we care about."""

    name = "py3langid"

    def __init__(self, languages: Sequence[str] = RESEARCH_LANGUAGES) -> None:
        from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
        from py3langid.modelio import load_model

        ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
        wanted = set(languages)
        unknown = wanted - set(classes)
        if unknown:
            raise ConfigError(f"language.candidates: py3langid does not know {', '.join(sorted(unknown))}")
        columns = [index for index, code in enumerate(classes) if code in wanted]
        # Only the candidates' columns are kept (set_languages would keep all 142 beside them): 24 MB less.
        self._identifier: Any = LanguageIdentifier(
            ptc[:, columns].copy(),
            pc[columns],
            [classes[i] for i in columns],
            nextmove,
            output,
            norm_probs=True,
            tk_row=row,
        )
        del ptc
        self.languages = tuple(languages)

    def probabilities(self, text: str) -> dict[str, float]:
        ranked = self._identifier.rank(text)
        if len({round(p, 9) for _, p in ranked}) == 1:  # no feature it knows: uniform, it cannot tell
            return {}
        return {str(language): float(p) for language, p in ranked}


class CombinedBackend(_Ranked):
    """py3langid and lingua's low-accuracy mode together: their probabilities multiplied, lingua's raised to a power
    below one (it is the weaker of the two alone, but errs on other texts). The default until the word refinement,
    with which py3langid alone did better on bench/langid's selection half."""

    name = "combined"
    LINGUA_WEIGHT = 0.3
    _FLOOR = 1e-4  # so that one detector's zero does not veto the other's certainty

    def __init__(self, languages: Sequence[str] = RESEARCH_LANGUAGES, lingua_weight: float = LINGUA_WEIGHT) -> None:
        self._py3langid = Py3langidBackend(languages)
        self._lingua = LinguaBackend(languages, high_accuracy=False)
        self.languages = tuple(languages)
        self.lingua_weight = lingua_weight

    def probabilities(self, text: str) -> dict[str, float]:
        first = self._py3langid.probabilities(text)
        second = self._lingua.probabilities(text)
        if not first and not second:
            return {}
        floor = self._FLOOR
        logs = {
            language: math.log(first.get(language, 0.0) + floor)
            + self.lingua_weight * math.log(second.get(language, 0.0) + floor)
            for language in self.languages
        }
        top = max(logs.values())
        scores = {language: math.exp(value - top) for language, value in logs.items()}
        total = sum(scores.values())
        return {language: score / total for language, score in scores.items()}


BACKENDS = ("combined", "lingua", "lingua-low", "langdetect", "py3langid")


def make_backend(name: str, languages: Sequence[str] = RESEARCH_LANGUAGES, words: bool = True) -> LanguageBackend:
    """The named detector; with words, refined by word frequencies (words.py) where two candidates have a list."""
    backend: _Ranked
    if name == "combined":
        backend = CombinedBackend(languages)
    elif name == "lingua":
        backend = LinguaBackend(languages, high_accuracy=True)
    elif name == "lingua-low":
        backend = LinguaBackend(languages, high_accuracy=False)
    elif name == "langdetect":
        backend = LangdetectBackend(languages)
    elif name == "py3langid":
        backend = Py3langidBackend(languages)
    else:
        raise ValueError(f"unknown language detector {name!r}; one of {', '.join(BACKENDS)}")
    return with_words(backend) if words else backend


def with_words(backend: LanguageBackend) -> LanguageBackend:
    """The detector refined by word frequencies (words.py)."""
    if not isinstance(backend, _Ranked):
        raise TypeError(f"{backend.name}: the word refinement needs a detector that gives probabilities")
    backend.words = WordFrequencies(backend.languages)
    return backend
