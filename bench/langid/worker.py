"""One candidate in its own process, so that its load time and peak memory are its own: prints one JSON object.

python -m bench.langid.worker --candidate lingua --data DIR --per-language N --seed S
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.langid.variants import build
from messaging.language.backends import (
    RESEARCH_LANGUAGES,
    CombinedBackend,
    LangdetectBackend,
    LanguageBackend,
    LinguaBackend,
    Py3langidBackend,
    with_words,
)
from messaging.language.cleaning import clean_for_detection

CANDIDATES = {
    "langdetect-all": "langdetect, all 55 profiles",
    "langdetect-17": "langdetect, only the 17 languages",
    "lingua-high": "lingua-language-detector, the 17, high accuracy",
    "lingua-low": "lingua-language-detector, the 17, low accuracy",
    "py3langid-17": "py3langid, the 17",
    "combined-0.3": "py3langid x lingua low accuracy^0.3, the 17 (`combined`, the default until the word refinement)",
    "combined-0.5": "py3langid x lingua low accuracy^0.5, the 17",
    "combined-1.0": "py3langid x lingua low accuracy, the 17",
    "py3langid-17+words": "py3langid, the 17, refined by word frequencies (messaging/language/words.py): the default",
    "combined-0.3+words": "combined-0.3 refined by word frequencies",
    "combined-0.5+words": "combined-0.5 refined by word frequencies",
}
WORDS = "+words"  # a candidate's suffix: the word refinement on top of it
# Confidence thresholds for the low-confidence rule: how many texts each keeps and how many of those are right.
THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def load(candidate: str) -> LanguageBackend:
    if candidate.endswith(WORDS):
        return with_words(load(candidate.removesuffix(WORDS)))
    if candidate == "langdetect-all":
        return LangdetectBackend(None)
    if candidate == "langdetect-17":
        return LangdetectBackend(RESEARCH_LANGUAGES)
    if candidate == "lingua-high":
        return LinguaBackend(RESEARCH_LANGUAGES, high_accuracy=True)
    if candidate == "lingua-low":
        return LinguaBackend(RESEARCH_LANGUAGES, high_accuracy=False)
    if candidate == "py3langid-17":
        return Py3langidBackend(RESEARCH_LANGUAGES)
    if candidate.startswith("combined-"):
        return CombinedBackend(RESEARCH_LANGUAGES, lingua_weight=float(candidate.split("-")[1]))
    raise SystemExit(f"unknown candidate {candidate!r}")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kB


def _current_rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(candidate: str, data: Path, per_language: int, seed: int) -> dict[str, Any]:
    variants = build(data, per_language, seed)
    cleaned = {name: [(s.language, clean_for_detection(s.text)) for s in samples] for name, samples in variants.items()}
    rss_before = _current_rss_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    backend = load(candidate)
    load_seconds = time.perf_counter() - start
    load_cpu_seconds = time.process_time() - cpu_start  # what the machine's other work does not inflate
    # What the detector holds once loaded; the peak while loading is higher (a decompressed model file).
    rss_loaded = _current_rss_mb()
    peak_loading = _rss_mb()
    result: dict[str, Any] = {
        "candidate": candidate,
        "load_seconds": load_seconds,
        "load_cpu_seconds": load_cpu_seconds,
        "rss_before_load_mb": rss_before,
        "rss_added_mb": rss_loaded - rss_before,
        "peak_added_mb": peak_loading - rss_before,
        "variants": {},
    }
    for name, samples in cleaned.items():
        right: Counter[str] = Counter()
        total: Counter[str] = Counter()
        confusions: Counter[str] = Counter()
        kept = [0] * len(THRESHOLDS)
        kept_right = [0] * len(THRESHOLDS)
        start = time.process_time()  # CPU time of this one process: texts per second on one core
        guesses = [backend.classify(text) for _, text in samples]
        seconds = time.process_time() - start
        for (language, _), guess in zip(samples, guesses, strict=True):
            total[language] += 1
            ok = guess is not None and guess.language == language
            right[language] += ok
            if not ok:
                confusions[f"{language}->{guess.language if guess else 'none'}"] += 1
            confidence = guess.confidence if guess else 0.0
            for index, threshold in enumerate(THRESHOLDS):
                if guess is not None and confidence >= threshold:
                    kept[index] += 1
                    kept_right[index] += ok
        result["variants"][name] = {
            "texts": len(samples),
            "right": sum(right.values()),
            "per_language": {language: [right[language], total[language]] for language in RESEARCH_LANGUAGES},
            "texts_per_second": len(samples) / seconds if seconds else None,
            "top_confusions": confusions.most_common(8),
            "thresholds": [
                {"threshold": t, "kept": k, "kept_right": r}
                for t, k, r in zip(THRESHOLDS, kept, kept_right, strict=True)
            ],
        }
    result["peak_rss_mb"] = _rss_mb()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.langid.worker")
    parser.add_argument("--candidate", required=True, choices=sorted(CANDIDATES))
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--per-language", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    json.dump(run(args.candidate, args.data, args.per_language, args.seed), sys.stdout)


if __name__ == "__main__":
    main()
