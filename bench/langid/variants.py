"""The benchmark's texts: real labelled sentences and word pairs (Leipzig corpora, via Lingua's test set), short
pieces of the Universal Declaration of Human Rights (bench/langid/udhr.py) and of the longer Leipzig sentences, and
variants derived from them that look like adverts. Everything is drawn with a seeded generator: the same options give
the same texts.

The short Leipzig sentences are split in two by a hash of their text: the selection half chose the default detector
and its thresholds; the held-out half, the declaration and the pieces of the longer Leipzig sentences (in neither
half) only report them.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bench.langid.udhr import OUT as UDHR_DIR
from bench.langid.udhr import length_range, pieces
from messaging.language.backends import RESEARCH_LANGUAGES

# The short texts the targets are set on (20-60 characters, Chinese 7-25), as written and without diacritics.
SHORT = (
    "selection",
    "selection-no-diacritics",
    "held-out",
    "held-out-no-diacritics",
    "udhr",
    "udhr-no-diacritics",
    "leipzig-pieces",
    "leipzig-pieces-no-diacritics",
)
VARIANTS = (*SHORT, "sentences", "word-pairs", "adverts", "no-diacritics", "adverts-no-diacritics")
DESCRIPTIONS = {
    "selection": "the selection half of the Leipzig sentences of 20-60 characters (Chinese 7-25), as written",
    "selection-no-diacritics": "the same without diacritics",
    "held-out": "the other half, never used to choose",
    "held-out-no-diacritics": "the same without diacritics",
    "udhr": "pieces of 20-60 characters (Chinese 7-25) of the Universal Declaration of Human Rights, as written",
    "udhr-no-diacritics": "the same without diacritics",
    "leipzig-pieces": "one piece of 20-60 characters (Chinese 7-25) of each of --per-language Leipzig sentences longer "
    "than that (in neither half), cut as the declaration is, as written",
    "leipzig-pieces-no-diacritics": "the same without diacritics",
    "sentences": "a full sentence, as written",
    "word-pairs": "two words (at least 10 characters)",
    "adverts": "the first 3-8 words of a sentence (Thai, Chinese: 12-30 characters) wrapped in emoji, prices, fake "
    "+31 6 numbers, 24/7 and platform words",
    "no-diacritics": "the full sentence with Latin diacritics removed (é -> e, ł -> l, ş -> s)",
    "adverts-no-diacritics": "the advert texts with Latin diacritics removed",
}
# Scripts written without spaces between words: cut them by characters.
_UNSPACED = {"th", "zh"}
_EMOJI = ["😘", "💋", "❤️", "🔥", "😍", "💦", "🌹", "✨", "😈", "💕", "👠", "🍑", "⭐", "🇳🇱", "🥰"]
_PLATFORM = ["WhatsApp", "SMS", "24/7", "incall", "outcall", "escort", "VIP"]
# Plain Latin letters that are not a base letter plus a combining mark, so NFD does not split them.
_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ß": "ss"})


@dataclass(frozen=True)
class Sample:
    language: str
    text: str


def _read(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def strip_diacritics(text: str) -> str:
    """Text as typed on a keyboard without the language's accents: only Latin letters lose their marks, because
    Cyrillic, Thai and Chinese keyboards type their own letters whole."""
    out: list[str] = []
    for char in unicodedata.normalize("NFD", text.translate(_FOLD)):
        if unicodedata.category(char) == "Mn" and out and "LATIN" in unicodedata.name(out[-1], ""):
            continue
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def _fake_phone(rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(8))
    return rng.choice(
        [
            f"+31 6 {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}",
            f"06-{digits}",
            f"+316{digits}",
            f"06 {digits[:4]} {digits[4:]}",
        ]
    )


def _price(rng: random.Random) -> str:
    amount = rng.choice([50, 80, 100, 120, 150, 200, 250, 300])
    return rng.choice([f"€{amount}", f"{amount} euro", f"{amount}€/30min", f"€ {amount},-", f"{amount}eur/u"])


def _short(text: str, language: str, rng: random.Random) -> str:
    if language in _UNSPACED:
        return text[: rng.randint(12, 30)]
    words = text.split()
    return " ".join(words[: rng.randint(3, 8)])


def advert_text(text: str, rng: random.Random) -> str:
    pieces = [text]
    for noise in (
        " ".join(rng.choice(_EMOJI) for _ in range(rng.randint(1, 3))),
        _price(rng),
        _fake_phone(rng),
        rng.choice(_PLATFORM),
    ):
        pieces.insert(rng.randint(0, len(pieces)), noise)
    return " ".join(pieces)


def in_selection(text: str) -> bool:
    """Which half of the short sentences a text is in: fixed by its text, whatever the seed or the options."""
    return hashlib.sha256(text.encode("utf-8")).digest()[0] % 2 == 0


def short_sentences(data_dir: Path, language: str) -> list[str]:
    low, high = length_range(language)
    return [text for text in _read(data_dir / "sentences" / f"{language}.txt") if low <= len(text) <= high]


def udhr_pieces(language: str) -> list[str]:
    return _read(UDHR_DIR / f"{language}.txt")


def leipzig_pieces(data_dir: Path, language: str, count: int, rng: random.Random) -> list[str]:
    """At most count pieces in the short range, cut by the declaration's rule (`udhr.pieces`) from the sentences
    longer than that range, which are in neither half: one piece, drawn at random, of each of count sentences drawn
    at random, so that no two pieces share a sentence; never a short sentence's text, never the same text twice."""
    low, high = length_range(language)
    short = set(short_sentences(data_dir, language))
    cut = []
    for text in _read(data_dir / "sentences" / f"{language}.txt"):
        if len(text) > high:
            usable = [piece for piece in pieces(text, low, high) if piece not in short]
            if usable:
                cut.append(usable)
    out: dict[str, None] = {}
    for usable in rng.sample(cut, len(cut)):  # the sentences in a seeded order: their files are sorted
        if len(out) == count:
            break
        fresh = [piece for piece in usable if piece not in out]
        if fresh:
            out[rng.choice(fresh)] = None
    return list(out)


def build(data_dir: Path, per_language: int, seed: int) -> dict[str, list[Sample]]:
    """Every short text of the Leipzig halves and the declaration, and per_language texts of each other variant
    (the Leipzig pieces included) for each of the 17 languages (fewer where the data has fewer)."""
    rng = random.Random(seed)
    # The Leipzig pieces have a generator of their own, so that the other variants' texts stay what they were.
    pieces_rng = random.Random(f"{seed}:leipzig-pieces")
    variants: dict[str, list[Sample]] = {name: [] for name in VARIANTS}
    for language in RESEARCH_LANGUAGES:
        short = short_sentences(data_dir, language)
        for name, texts in (
            ("selection", [text for text in short if in_selection(text)]),
            ("held-out", [text for text in short if not in_selection(text)]),
            ("udhr", udhr_pieces(language)),
            ("leipzig-pieces", leipzig_pieces(data_dir, language, per_language, pieces_rng)),
        ):
            variants[name] += [Sample(language, text) for text in texts]
            variants[f"{name}-no-diacritics"] += [Sample(language, strip_diacritics(text)) for text in texts]
    for language in RESEARCH_LANGUAGES:
        # Sentence files are sorted alphabetically (README): sample, never take the first lines.
        sentences = _read(data_dir / "sentences" / f"{language}.txt")
        pairs = _read(data_dir / "word-pairs" / f"{language}.txt")
        chosen = rng.sample(sentences, min(per_language, len(sentences)))
        adverts = [advert_text(_short(text, language, rng), rng) for text in chosen]
        variants["sentences"] += [Sample(language, text) for text in chosen]
        variants["word-pairs"] += [Sample(language, text) for text in rng.sample(pairs, min(per_language, len(pairs)))]
        variants["adverts"] += [Sample(language, text) for text in adverts]
        variants["no-diacritics"] += [Sample(language, strip_diacritics(text)) for text in chosen]
        variants["adverts-no-diacritics"] += [Sample(language, strip_diacritics(text)) for text in adverts]
    return variants
