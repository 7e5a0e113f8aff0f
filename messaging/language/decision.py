"""From an advert to the language its message is written in, with the rule that decided.

The rules, in order: too little language left after cleaning (letters, a Chinese character counting three and a
Thai letter two: messaging/language/scripts.py) -> too_short; Dutch and English each cover a real share of
the letters -> mixed; the detector is unsure -> low_confidence; no template for the language -> no_template;
otherwise detected. Every rule but detected sends the fallback template.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from messaging.language.backends import LanguageBackend, make_backend
from messaging.language.cleaning import clean_for_detection, clean_lines, segments
from messaging.language.scripts import information

if TYPE_CHECKING:
    from outreach.settings import Settings

# Detectors cannot tell European from Brazilian Portuguese (nor simplified from traditional Chinese), so regional
# codes fold into the one template per language; the Portuguese template is written in Brazilian Portuguese.
TEMPLATE_OF = {"pt-br": "pt", "pt-pt": "pt", "zh-cn": "zh", "zh-tw": "zh"}


class Rule(StrEnum):
    DETECTED = "detected"
    MIXED = "mixed"
    LOW_CONFIDENCE = "low_confidence"
    TOO_SHORT = "too_short"
    NO_TEMPLATE = "no_template"
    OVERRIDE = "override"  # a fieldworker chose the language


@dataclass(frozen=True)
class LanguageDecision:
    language: str | None  # what the detector saw in the whole advert (None: too little text to tell)
    confidence: float
    rule: Rule
    template: str  # the template language the message is written in

    @property
    def fallback(self) -> bool:
        return self.rule is not Rule.DETECTED


@dataclass(frozen=True)
class Policy:
    min_letters: int = 12
    min_confidence: float = 0.7
    mixed_languages: tuple[str, ...] = ("nl", "en")
    mixed_share: float = 0.15
    # A segment counts towards a mix only when its language is this clear. (The title, a name and a place more than
    # a sentence, never counts towards a mix: "Lucia in Capelle aan den IJssel" reads as Dutch.)
    segment_confidence: float = 0.9


class AdvertLanguage:
    """The language detector the cycle uses: cleaning, the chosen backend, and the rules above."""

    def __init__(
        self,
        backend: LanguageBackend,
        template_languages: Iterable[str],
        fallback: str,
        policy: Policy | None = None,
    ) -> None:
        self.backend = backend
        self.template_languages = frozenset(template_languages)
        self.fallback_template = fallback
        self.policy = policy or Policy()

    def decide(self, text: str, title: str = "") -> LanguageDecision:
        """The advert's language from its title and text together; whether it is mixed from its text alone: a title
        is a name and a place more than a sentence ("Sweet Lisa in Rijswijk" reads as Dutch), and must not make an
        English advert Dutch-English."""
        policy = self.policy
        lines = clean_lines(f"{title}. {text}" if title else text)
        cleaned = clean_for_detection(lines)
        if information(cleaned) < policy.min_letters:
            return self._fallback(None, 0.0, Rule.TOO_SHORT)
        guess = self.backend.classify(cleaned)
        if guess is None:
            return self._fallback(None, 0.0, Rule.LOW_CONFIDENCE)
        language = guess.language.lower()
        if self._is_mixed(clean_lines(text) if title else lines):
            return self._fallback(language, guess.confidence, Rule.MIXED)
        if guess.confidence < policy.min_confidence:
            return self._fallback(language, guess.confidence, Rule.LOW_CONFIDENCE)
        template = TEMPLATE_OF.get(language, language)
        if template not in self.template_languages:
            return self._fallback(language, guess.confidence, Rule.NO_TEMPLATE)
        return LanguageDecision(language, guess.confidence, Rule.DETECTED, template)

    def detect(self, text: str, title: str = "") -> str | None:
        """The advert's language as far as a message is concerned: None when the fallback must be used because
        the advert is mixed, too short or unclear (a language without template is still returned, for the log)."""
        decision = self.decide(text, title)
        if decision.rule is Rule.DETECTED:
            return decision.template  # pt-BR and pt both mean the pt template
        if decision.rule is Rule.NO_TEMPLATE:
            return decision.language
        return None

    def letter_shares(self, text: str) -> dict[str, float]:
        """Per detected language, its share of the letters in the advert's segments that are long enough to
        classify."""
        return self._shares(clean_lines(text))

    def _is_mixed(self, lines: str) -> bool:
        if len(self.policy.mixed_languages) < 2:  # one language alone is never "mixed"
            return False
        shares = self._shares(lines)
        return all(shares.get(language, 0.0) >= self.policy.mixed_share for language in self.policy.mixed_languages)

    def _shares(self, lines: str) -> dict[str, float]:
        counts: Counter[str] = Counter()
        for segment in segments(lines):
            size = information(segment)
            # A shorter segment's language is a guess; it still counts in the whole-advert classification.
            if size < self.policy.min_letters:
                continue
            guess = self.backend.classify(clean_for_detection(segment))
            if guess is not None and guess.confidence >= self.policy.segment_confidence:
                counts[guess.language] += size
        total = sum(counts.values())
        return {language: count / total for language, count in counts.items()} if total else {}

    def _fallback(self, language: str | None, confidence: float, rule: Rule) -> LanguageDecision:
        return LanguageDecision(language, confidence, rule, self.fallback_template)


def make_detector(settings: Settings, candidates: Sequence[str] | None = None) -> AdvertLanguage:
    """The configured detector (settings.language), choosing among the configured candidate languages."""
    config = settings.language
    backend = make_backend(config.detector, candidates or config.candidates, config.word_frequencies)
    policy = Policy(
        min_letters=config.min_letters,
        min_confidence=config.min_confidence,
        mixed_languages=tuple(config.mixed_languages),
        mixed_share=config.mixed_share,
    )
    return AdvertLanguage(backend, settings.languages, settings.fallback_language, policy)
