"""What a word missing from a language's list costs (messaging/language/words.py, `MISSING_BELOW_RAREST`), chosen on
texts no target judges: the selection half of the short Leipzig sentences and all of Lingua's word pairs, as written
and without diacritics, with the default detector (py3langid, the 17 languages) under the words.

    nice .venv/bin/python -m bench.langid.missing_words [--data ../shared/data/langid]

The rule: the most selection texts right (both sets), then the most word pairs right (both sets), then the smallest
cost. The held-out half, the declaration and the Leipzig pieces are printed after the choice, for the record only.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bench.langid.__main__ import CHOICE_SETS, TARGETS
from bench.langid.variants import _read, build, strip_diacritics
from messaging.language.backends import RESEARCH_LANGUAGES, Py3langidBackend
from messaging.language.cleaning import clean_for_detection
from messaging.language.words import MISSING_BELOW_RAREST, WordFrequencies

REPO = Path(__file__).resolve().parents[2]
COSTS = (0, 25, 50, 75, 100, 150, 200, 300)  # centibels beyond the list's rarest word: 100 is ten times rarer
CHOICE = CHOICE_SETS  # the sets the detector's rule chooses on
THEN = ("word-pairs", "word-pairs-no-diacritics")
REPORTED = tuple(TARGETS)  # the sets the targets judge: printed after the choice, never chosen on


class _Remembered(Py3langidBackend):
    """The detector's probabilities computed once per text: only the words change between the costs."""

    def __init__(self) -> None:
        super().__init__(RESEARCH_LANGUAGES)
        self._seen: dict[str, dict[str, float]] = {}

    def probabilities(self, text: str) -> dict[str, float]:
        if text not in self._seen:
            self._seen[text] = super().probabilities(text)
        return self._seen[text]


def texts(data: Path, per_language: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    variants = build(data, per_language, seed)
    out = {name: [(s.language, s.text) for s in variants[name]] for name in (*CHOICE, *REPORTED)}
    pairs = [
        (language, text) for language in RESEARCH_LANGUAGES for text in _read(data / "word-pairs" / f"{language}.txt")
    ]
    out["word-pairs"] = pairs
    out["word-pairs-no-diacritics"] = [(language, strip_diacritics(text)) for language, text in pairs]
    return {name: [(language, clean_for_detection(text)) for language, text in found] for name, found in out.items()}


def right(backend: Py3langidBackend, samples: Sequence[tuple[str, str]]) -> int:
    count = 0
    for language, text in samples:
        guess = backend.classify(text)
        count += guess is not None and guess.language == language
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.langid.missing_words", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "../shared/data/langid")
    parser.add_argument(
        "--per-language", type=int, default=300, help="Leipzig pieces per language (as in bench.langid)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    data = args.data / "lingua-py"
    if not (data / "word-pairs").is_dir():
        raise SystemExit(f"--data: no lingua-py/word-pairs in {args.data}")
    assert not set(CHOICE + THEN) & set(REPORTED), "a set the rule chooses on cannot also judge the choice"
    sets = texts(data, args.per_language, args.seed)
    backend = _Remembered()
    counts: dict[int, dict[str, int]] = {}
    for cost in COSTS:
        backend.words = WordFrequencies(RESEARCH_LANGUAGES, missing_below_rarest=cost)
        counts[cost] = {name: right(backend, samples) for name, samples in sets.items()}
    shown = (*CHOICE, *THEN)
    print("Texts right by the cost of a missing word (centibels beyond the list's rarest word), chosen on these:\n")
    print("| cost | " + " | ".join(f"{name} ({len(sets[name])})" for name in shown) + " |")
    print("| ---: |" + " ---: |" * len(shown))
    for cost in COSTS:
        print(f"| {cost} | " + " | ".join(str(counts[cost][name]) for name in shown) + " |")
    best = max(
        COSTS,
        key=lambda cost: (sum(counts[cost][n] for n in CHOICE), sum(counts[cost][n] for n in THEN), -cost),
    )
    print(f"\nThe rule chooses {best} (shipped: {MISSING_BELOW_RAREST}).\n")
    print("For the record only (never chosen on):\n")
    print("| cost | " + " | ".join(f"{name} ({len(sets[name])})" for name in REPORTED) + " |")
    print("| ---: |" + " ---: |" * len(REPORTED))
    for cost in COSTS:
        print(f"| {cost} | " + " | ".join(str(counts[cost][name]) for name in REPORTED) + " |")


if __name__ == "__main__":
    main()
