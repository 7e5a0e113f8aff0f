"""Advert language: text cleaned of what is not language, then a detector behind a small interface.

langdetect is the walking skeleton's choice; issue 4 benchmarks alternatives behind the same interface.
"""

from __future__ import annotations

import re
from typing import Protocol

_NOISE = re.compile(
    r"https?://\S+|www\.\S+|\S+@\S+|\[number\]|[\d€$£%+/*#_|~^<>=]+|[\U0001F000-\U0001FFFF\u2600-\u27BF]",
)


def clean_for_detection(text: str) -> str:
    """Remove URLs, e-mail addresses, numbers, prices and emoji: they say nothing about the language."""
    return " ".join(_NOISE.sub(" ", text).split())


class LanguageDetector(Protocol):
    def detect(self, text: str) -> str | None:
        """ISO 639-1 code, or None when there is too little text to tell."""
        ...


class LangdetectDetector:
    """langdetect with a fixed seed, so the same text always gets the same answer."""

    min_letters = 12

    def __init__(self) -> None:
        from langdetect import DetectorFactory

        self._factory = DetectorFactory()
        self._factory.load_profile(_profiles_dir())
        self._factory.set_seed(0)

    def detect(self, text: str) -> str | None:
        from langdetect.lang_detect_exception import LangDetectException

        cleaned = clean_for_detection(text)
        if sum(ch.isalpha() for ch in cleaned) < self.min_letters:
            return None
        detector = self._factory.create()
        detector.append(cleaned)
        try:
            code: str = detector.detect()
        except LangDetectException:
            return None
        return code.split("-")[0]


def _profiles_dir() -> str:
    import os

    import langdetect

    return os.path.join(os.path.dirname(langdetect.__file__), "profiles")
