"""Russian, Ukrainian or Bulgarian by their words: a naive Bayes over word frequencies, for texts in Cyrillic script.

The n-gram detectors confuse these three on short sentences without a letter only one of them writes (py3langid sees
a Cyrillic letter as two unrelated bytes); their common words differ more than their letters ("что, это" against "що,
це" against "че, е, се"). Frequencies of about 146,000 words from wordfreq's word lists (data/README.md; made by
bench/langid/wordlists.py), a word missing from a list counted at the list's cutoff. Chosen on the selection half of
bench/langid (BENCHMARKS.md).
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Iterable
from pathlib import Path

LANGUAGES = ("ru", "uk", "bg")
WORDS_FILE = Path(__file__).resolve().parent / "data" / "cyrillic_words.tsv.gz"
# wordfreq's small lists keep the words of frequency 10^-6 and up; a word missing from a list is counted there.
MISSING = 600  # in frequency buckets of 10^(-1/100)
_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'"})


def words(text: str) -> list[str]:
    """The words of a text as the lists spell them: lower case, an apostrophe inside a word kept as '."""
    return [word.translate(_APOSTROPHES) for word in _WORD.findall(text.lower())]


class CyrillicWords:
    """P(language | words) for ru, uk and bg (those of them among the candidates), assuming independent words."""

    def __init__(self, languages: Iterable[str] = LANGUAGES, path: Path = WORDS_FILE) -> None:
        self.languages = tuple(language for language in LANGUAGES if language in set(languages))
        columns = [LANGUAGES.index(language) for language in self.languages]
        # word -> frequency bucket per language; one tuple per word, the buckets are small ints Python shares.
        self._buckets: dict[str, tuple[int, ...]] = {}
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("#"):
                    continue
                word, *cells = line.rstrip("\n").split("\t")
                buckets = tuple(int(cells[i]) if cells[i] else MISSING for i in columns)
                if min(buckets) < MISSING:
                    self._buckets[word] = buckets
        self._missing = (MISSING,) * len(self.languages)

    def probabilities(self, text: str) -> dict[str, float]:
        """Over this model's languages; {} when no word of the text is in any list (nothing to go on)."""
        found = [self._buckets[word] for word in words(text) if word in self._buckets]
        if not found or len(self.languages) < 2:
            return {}
        # log10 P(words | language) in buckets of 1/100: a sum of bucket numbers, the smaller the likelier.
        totals = [sum(bucket[i] for bucket in found) for i in range(len(self.languages))]
        best = min(totals)
        scores = [math.pow(10.0, (best - total) / 100) for total in totals]
        norm = sum(scores)
        return {language: score / norm for language, score in zip(self.languages, scores, strict=True)}
