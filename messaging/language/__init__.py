"""Advert language: text cleaned of what is not language, a detector behind a small interface, and the rules that
turn its guess into the template a message is written in (bench/langid and BENCHMARKS.md chose the default)."""

from messaging.language.backends import (
    RESEARCH_LANGUAGES,
    CombinedBackend,
    Guess,
    LangdetectBackend,
    LanguageBackend,
    LinguaBackend,
    Py3langidBackend,
    make_backend,
)
from messaging.language.cleaning import clean_for_detection
from messaging.language.decision import AdvertLanguage, LanguageDecision, Policy, Rule, make_detector
from messaging.language.protocol import LanguageDetector

__all__ = [
    "RESEARCH_LANGUAGES",
    "AdvertLanguage",
    "CombinedBackend",
    "Guess",
    "LangdetectBackend",
    "LanguageBackend",
    "LanguageDecision",
    "LanguageDetector",
    "LinguaBackend",
    "Policy",
    "Py3langidBackend",
    "Rule",
    "clean_for_detection",
    "make_backend",
    "make_detector",
]
