"""Languages told apart by their words: a naive Bayes over word frequencies, on top of an n-gram detector.

The n-gram detectors confuse Russian, Ukrainian and Bulgarian on short sentences without a letter only one of them
writes (py3langid sees a Cyrillic letter as two unrelated bytes), and Spanish, Portuguese and Italian, or Dutch and
German, on short sentences; their common words differ more than their letters ("что, это" against "що, це" against
"че, е, се"). The 20,000 most frequent words of each of 14 of the candidate languages, from wordfreq's word lists
(data/README.md; made by bench/langid/wordlists.py), Latin words also without their diacritics; a word missing
from a list counts as 5.6 times rarer (75 centibels) than that list's rarest word: it is rarer than every listed
word, by how much the lists do not say. The list size and the weight were chosen on the selection half of
bench/langid, the missing word's cost on the selection half and Lingua's word pairs (bench/langid/missing_words.py;
BENCHMARKS.md).
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path

WORDS_FILE = Path(__file__).resolve().parent / "data" / "words.json.gz"
# What a word missing from a list costs beyond the list's rarest word, in centibels (75: 10^0.75, 5.6 times rarer).
MISSING_BELOW_RAREST = 75
_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'"})


def words(text: str) -> list[str]:
    """The words of a text as the lists spell them: lower case, an apostrophe inside a word kept as '."""
    return [word.translate(_APOSTROPHES) for word in _WORD.findall(text.lower())]


class WordFrequencies:
    """P(language | words) among the languages that have a list, assuming independent words.

    A word's frequency is kept as its bucket n: frequency 10^(-n/100) (wordfreq's centibels)."""

    def __init__(
        self, languages: Iterable[str], path: Path = WORDS_FILE, missing_below_rarest: int = MISSING_BELOW_RAREST
    ) -> None:
        with gzip.open(path, "rb") as handle:
            lists: dict[str, dict[str, int]] = json.loads(handle.read())["languages"]
        wanted = set(languages)
        self._lists = {language: found for language, found in sorted(lists.items()) if language in wanted}
        self.languages = frozenset(self._lists)
        self._missing = {
            language: max(found.values()) + missing_below_rarest for language, found in self._lists.items()
        }

    def probabilities(self, text: str, among: Iterable[str]) -> dict[str, float]:
        """Over the languages among these that have a list; {} when fewer than two have one or no word of the text
        is in their lists (nothing to go on)."""
        languages = sorted(self.languages.intersection(among))
        if len(languages) < 2:
            return {}
        lists = [self._lists[language] for language in languages]
        known = [word for word in words(text) if any(word in found for found in lists)]
        if not known:
            return {}
        # log10 P(words | language) in hundredths: a sum of buckets, the smaller the likelier.
        totals = [
            sum(found.get(word, self._missing[language]) for word in known)
            for language, found in zip(languages, lists, strict=True)
        ]
        best = min(totals)
        scores = [math.pow(10.0, (best - total) / 100) for total in totals]
        norm = sum(scores)
        return {language: score / norm for language, score in zip(languages, scores, strict=True)}
