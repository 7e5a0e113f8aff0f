"""Text folded for matching words: the same folding for opt-out words, keyword rules, target-group words and the
settings that name them, so a word configured one way matches every spelling of it."""

from __future__ import annotations

import re
import unicodedata


def normalise(text: str) -> str:
    """Upper case, accents and punctuation gone, single spaces: "  Stop! " and "stöp." both become "STOP"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w\s]|_", " ", bare).upper().split())
