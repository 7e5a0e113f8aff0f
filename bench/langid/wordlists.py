"""The word frequencies behind the Cyrillic refinement (messaging/language/words.py): Russian, Ukrainian and Bulgarian
words with their frequency, cut from the "small" word lists of the PyPI package wordfreq 3.1.1 (code Apache-2.0, word
lists CC BY-SA 4.0, by Robyn Speer / Luminoso; built from Wikipedia, OpenSubtitles, SUBTLEX, NewsCrawl, GlobalVoices,
OSCAR web text, Google Books and Twitter: not from the Leipzig corpora our benchmark's sentences come from).

wordfreq itself is not a dependency (its wheel is 57 MB); this module made the committed file and makes it again:

    .venv/bin/pip download --no-deps wordfreq==3.1.1 && unzip -q wordfreq-3.1.1-py3-none-any.whl 'wordfreq/data/*'
    .venv/bin/pip install msgpack   # only to read wordfreq's files; uninstall afterwards
    .venv/bin/python -m bench.langid.wordlists wordfreq/data
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path
from typing import Any

from messaging.language.words import LANGUAGES, WORDS_FILE, words


def read_cbpack(path: Path) -> dict[str, int]:
    """wordfreq's "cB pack": a header, then lists of words by frequency bucket; bucket i holds the words whose
    frequency rounds to 10 ** (-i / 100) (centibels). Word -> bucket."""
    import msgpack  # type: ignore[import-not-found,unused-ignore]

    with gzip.open(path, "rb") as handle:
        data: list[Any] = msgpack.load(handle, raw=False)
    header, buckets = data[0], data[1:]
    if header.get("format") != "cB":
        raise SystemExit(f"{path}: not a cB pack ({header})")
    return {word: index for index, words in enumerate(buckets) for word in words}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.langid.wordlists", description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="wordfreq's data/ folder")
    args = parser.parse_args(argv)
    lists = {language: read_cbpack(args.data / f"small_{language}.msgpack.gz") for language in LANGUAGES}
    # Only what the tokenizer can give: no numbers ("00"), no "т.д".
    kept = sorted(word for word in set().union(*lists.values()) if words(word) == [word])
    WORDS_FILE.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same lists give the same bytes.
    with gzip.GzipFile(WORDS_FILE, "wb", mtime=0) as raw:
        header = "\t".join(["# word", *LANGUAGES])
        raw.write(f"{header} (frequency bucket: 10^(-n/100); empty: not in the list)\n".encode())
        for word in kept:
            cells = [str(lists[language][word]) if word in lists[language] else "" for language in LANGUAGES]
            raw.write("\t".join([word, *cells]).encode() + b"\n")
    print(f"{len(kept)} words: " + ", ".join(f"{language} {len(lists[language])}" for language in LANGUAGES))


if __name__ == "__main__":
    main()
