"""What a text's writing system says before any detector: which candidate languages it can be in, and how much
language it carries.

Among the languages adverts here are written in, Thai script means Thai and Chinese characters mean Chinese; the
Cyrillic alphabets of Bulgarian, Russian and Ukrainian each lack letters the others use. A byte-n-gram detector sees
a Cyrillic or Chinese character as two or three unrelated bytes, so these facts are worth stating rather than
learning.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable

# The script each language is written in; a language not named here is written in Latin letters.
SCRIPT_OF = {
    "th": "thai",
    "zh": "han",
    "ja": "kana",
    "ko": "hangul",
    "bg": "cyrillic",
    "ru": "cyrillic",
    "uk": "cyrillic",
    "sr": "cyrillic",
    "mk": "cyrillic",
    "be": "cyrillic",
    "el": "greek",
    "ar": "arabic",
    "fa": "arabic",
    "he": "hebrew",
}
# Letters a Cyrillic language never writes: a text holding one is not in that language.
NOT_WRITTEN = {
    "bg": frozenset("ыэёіїєґ"),
    "ru": frozenset("іїєґ"),
    "uk": frozenset("ыэёъ"),
}
# How much language one character carries, in Latin letters: a Chinese character is a morpheme or a word (four say
# about as much as twelve letters), and Thai writes many vowels as marks that are not letters of their own.
WEIGHT = {"han": 3, "thai": 2}
_PREFIXES = (
    ("CJK", "han"),
    ("THAI", "thai"),
    ("CYRILLIC", "cyrillic"),
    ("LATIN", "latin"),
    ("HIRAGANA", "kana"),
    ("KATAKANA", "kana"),
    ("HANGUL", "hangul"),
    ("GREEK", "greek"),
    ("ARABIC", "arabic"),
    ("HEBREW", "hebrew"),
)


def script(char: str) -> str | None:
    """The script of one letter, None for anything that is not a letter."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    for prefix, found in _PREFIXES:
        if name.startswith(prefix):
            return found
    return "other"


def units(text: str) -> Counter[str]:
    """Per script, the information the text carries in it, counted in Latin-letter equivalents."""
    counts: Counter[str] = Counter()
    for char in text:
        found = script(char)
        if found is not None:
            counts[found] += WEIGHT.get(found, 1)
    return counts


def information(text: str) -> int:
    """What the too-short rule counts: letters, a Chinese character as three and a Thai letter as two."""
    return sum(units(text).values())


def dominant_script(text: str) -> str | None:
    counts = units(text)
    if not counts:
        return None
    # Ties go to the script named first in _PREFIXES' order, so the answer never depends on the text's order.
    order = [name for _, name in _PREFIXES] + ["other"]
    return max(counts, key=lambda name: (counts[name], -order.index(name)))


def possible_languages(text: str, candidates: Iterable[str]) -> frozenset[str]:
    """The candidates the text can be written in: those of its main script, less those whose alphabet lacks one of
    its letters. Empty when no candidate writes that script (a Japanese or Arabic advert)."""
    main = dominant_script(text)
    same = frozenset(language for language in candidates if SCRIPT_OF.get(language, "latin") == main)
    lower = text.lower()
    kept = frozenset(language for language in same if not (NOT_WRITTEN.get(language, frozenset()) & set(lower)))
    # A letter of every alphabet at once (a quoted name, a typo) rules nothing out.
    return kept or same
