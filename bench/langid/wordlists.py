"""The word frequencies behind the word refinement (messaging/language/words.py): the 20,000 most frequent words of
14 of the 17 candidate languages (not Albanian, which wordfreq lacks, nor Thai and Chinese, which their script
decides), cut from the "small" word lists of the PyPI package wordfreq 3.1.1 (code Apache-2.0, word lists CC BY-SA
4.0, by Robyn Speer / Luminoso; built from Wikipedia, OpenSubtitles, SUBTLEX, NewsCrawl, GlobalVoices, OSCAR web
text, Google Books, Twitter and Reddit: not from the Leipzig corpora our benchmark's sentences come from).

wordfreq itself is not a dependency (its wheel is 57 MB); this module made the committed file and makes it again:

    .venv/bin/pip download --no-deps wordfreq==3.1.1 && unzip -q wordfreq-3.1.1-py3-none-any.whl 'wordfreq/data/*'
    .venv/bin/pip install msgpack   # only to read wordfreq's files; uninstall afterwards
    .venv/bin/python -m bench.langid.wordlists wordfreq/data
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

from bench.langid.variants import strip_diacritics
from messaging.language.words import WORDS_FILE, words

LANGUAGES = ("nl", "en", "ro", "bg", "pl", "es", "pt", "hu", "ru", "uk", "de", "fr", "it", "tr")
TOP = 20_000  # words per language: about 55 MB in memory, 0.15 s to load (BENCHMARKS.md)


def read_cbpack(path: Path) -> list[list[str]]:
    """wordfreq's "cB pack": a header, then lists of words by frequency bucket; bucket n holds the words whose
    frequency rounds to 10^(-n/100) (centibels)."""
    import msgpack  # type: ignore[import-not-found,unused-ignore]

    with gzip.open(path, "rb") as handle:
        data: list[Any] = msgpack.load(handle, raw=False)
    header, buckets = data[0], data[1:]
    if header.get("format") != "cB":
        raise SystemExit(f"{path}: not a cB pack ({header})")
    return buckets


def most_frequent(buckets: list[list[str]], top: int) -> dict[str, int]:
    """Word -> bucket for the top most frequent words the tokenizer can give (no numbers, no "т.д"), each also
    without its diacritics (a text typed without them), keeping the more frequent bucket where two fold together."""
    out: dict[str, int] = {}
    count = 0
    for bucket, found in enumerate(buckets):
        for word in found:
            if count == top:
                return out
            if words(word) != [word]:
                continue
            count += 1
            out.setdefault(word, bucket)
            out.setdefault(strip_diacritics(word), bucket)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.langid.wordlists", description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="wordfreq's data/ folder")
    parser.add_argument("--top", type=int, default=TOP, help="words per language")
    args = parser.parse_args(argv)
    lists = {
        language: most_frequent(read_cbpack(args.data / f"small_{language}.msgpack.gz"), args.top)
        for language in LANGUAGES
    }
    document = {
        "source": "wordfreq 3.1.1 small lists, CC BY-SA 4.0 (data/README.md); bucket n: frequency 10^(-n/100)",
        "top": args.top,
        "languages": {language: dict(sorted(found.items())) for language, found in lists.items()},
    }
    WORDS_FILE.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    # mtime=0: the same lists give the same bytes.
    with gzip.GzipFile(WORDS_FILE, "wb", mtime=0) as raw:
        raw.write(text.encode("utf-8"))
    print(", ".join(f"{language} {len(found)}" for language, found in lists.items()))


if __name__ == "__main__":
    main()
