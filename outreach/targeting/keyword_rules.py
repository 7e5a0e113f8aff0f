"""Keyword matching on advert texts: whole words or phrases, accents, case and punctuation ignored.

The folding is the opt-out keywords' own (outreach.parsing.folding.normalise), so "Agentschap", "agentschap!" and
"AGENTSCHAP" match alike. Digits are kept on purpose: a hold word like "17 jaar" must still match "17 jaar oud".
The stored advert text has its phone numbers replaced already ("[number]"), nothing else is removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from outreach.parsing.folding import normalise


@dataclass(frozen=True)
class KeywordList:
    words: tuple[str, ...]

    @classmethod
    def of(cls, words: list[str]) -> KeywordList:
        return cls(tuple(words))

    def first_match(self, folded_text: str) -> str | None:
        """The first configured word that occurs in the folded text (see fold), as configured."""
        for word in self.words:
            if f" {normalise(word)} " in folded_text:
                return word
        return None


def fold(title: str, text: str) -> str:
    """An advert's title and text folded for matching, padded so that " word " finds whole words only."""
    return f" {normalise(title)} {normalise(text)} "
