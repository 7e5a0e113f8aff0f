"""What the composer needs from language detection: one decision per advert."""

from __future__ import annotations

from typing import Protocol

from messaging.language.decision import LanguageDecision


class LanguageDetector(Protocol):
    def decide(self, text: str, title: str = "") -> LanguageDecision:
        """The language of an advert (title and text), the rule that decided it and the template its message uses;
        whether it is mixed is judged on the text alone."""
        ...

    def detect(self, text: str, title: str = "") -> str | None:
        """ISO 639-1 code, or None when the fallback template must be used (mixed, too short, unclear)."""
        ...
