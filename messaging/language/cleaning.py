"""Advert text without what says nothing about its language, and cut into segments for the mixed-language rule."""

from __future__ import annotations

import re
import unicodedata

# Order matters: URLs and e-mail addresses go before the digit rule, or their letters would survive as words.
_LINKS = re.compile(r"(?i)\bhttps?://\S+|\bwww\.\S+|\S+@\S+\.\S+|@\w+|\[number\]")
# Any token holding a digit: phone numbers however they are spaced (+31 6 12 34 56 78, (020) 123 4567), prices
# (€150, 150eu), times (24/7, 22u), sizes (170cm, 75B), ages (23jr). A token is cut at Thai and Chinese letters:
# those scripts put no spaces between words, so "the token" would be the whole sentence.
_ATTACHED = r"[0-9A-Za-z\u00C0-\u024F\u0400-\u04FF€$£%+/.,:'’()\-]*"
_WITH_DIGIT = re.compile(rf"{_ATTACHED}\d{_ATTACHED}")
# Emoji sequences are glued with a zero-width joiner and variation selectors, which are not symbols (S*) in Unicode.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufe00-\ufe0f]")
# Words that appear in adverts whatever the language they are written in: site boilerplate and the trade's English
# jargon. Left in, they pull short Dutch, Polish or Romanian adverts towards English.
BOILERPLATE = frozenset(
    {
        "whatsapp",
        "telegram",
        "snapchat",
        "onlyfans",
        "instagram",
        "skype",
        "sms",
        "tel",
        "escort",
        "incall",
        "outcall",
        "gfe",
        "pse",
        "vip",
        "xxx",
        "cash",
        "hot",
        "sexy",
        "new",
        "top",
        "massage",
        "privé",
        "prive",
        "euro",
        "eur",
        "min",
    }
)
_WORD = re.compile(r"\w+")
_SEGMENT_END = re.compile(r"[.!?;:|•·\n\r\t]+|\s[-–—]\s")


def _is_noise_char(char: str) -> bool:
    # Unicode symbols (So, Sm, Sc, Sk) hold emoji, hearts, stars, arrows and currency signs.
    return unicodedata.category(char)[0] == "S"


def _strip_symbols(text: str) -> str:
    return "".join(" " if _is_noise_char(char) else char for char in _INVISIBLE.sub("", text))


def _drop_boilerplate(text: str) -> str:
    return _WORD.sub(lambda match: " " if match.group(0).casefold() in BOILERPLATE else match.group(0), text)


def clean_lines(text: str) -> str:
    """The cleaned text with line breaks and sentence punctuation kept, so it can still be cut into segments."""
    text = unicodedata.normalize("NFC", text)
    text = _LINKS.sub(" ", text)
    text = _WITH_DIGIT.sub(" ", text)
    text = _strip_symbols(text)
    text = _drop_boilerplate(text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def clean_for_detection(text: str) -> str:
    """Remove URLs, e-mail addresses, handles, phone numbers, prices, digits, emoji and boilerplate words: they say
    nothing about the language and mislead detectors on short texts."""
    cleaned = " ".join(clean_lines(text).split())
    # Punctuation left alone between removed pieces ("x@y.nl, ...") is not language either.
    words = [word for word in cleaned.split() if any(char.isalpha() for char in word)]
    return " ".join(words)


def letters(text: str) -> int:
    return sum(char.isalpha() for char in text)


def segments(cleaned_lines: str) -> list[str]:
    """Sentences and lines of a cleaned advert: the unit a mixed advert switches language at."""
    parts = (" ".join(part.split()) for part in _SEGMENT_END.split(cleaned_lines))
    return [part for part in parts if letters(part)]
