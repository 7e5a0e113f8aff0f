"""The rules on top of the detector, measured: how often mixed Dutch/English adverts get the fallback, how often a
Dutch advert with one short English line wrongly does, and what the default rules do with the advert variant.

    nice .venv/bin/python -m bench.langid.decisions [--data ../shared/data/langid] [--per-language 300]
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from pathlib import Path

from bench.langid.variants import build
from messaging.language import AdvertLanguage, LinguaBackend, Rule
from outreach.settings import LanguageSettings

REPO = Path(__file__).resolve().parents[2]
SHARES = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)


def _sentences(data: Path, language: str, count: int, rng: random.Random) -> list[str]:
    lines = (data / "sentences" / f"{language}.txt").read_text(encoding="utf-8").splitlines()
    return rng.sample([line for line in lines if line.strip()], count)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.langid.decisions")
    parser.add_argument("--data", type=Path, default=REPO / "../shared/data/langid")
    parser.add_argument("--per-language", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    data = args.data / "lingua-py"
    rng = random.Random(args.seed)
    count = args.per_language
    defaults = LanguageSettings()  # the shipped defaults
    detector = AdvertLanguage(LinguaBackend(defaults.candidates), ["nl", "en", "ro", "pl", "es"], "en")
    nl, en = _sentences(data, "nl", count, rng), _sentences(data, "en", count, rng)
    nl2, en2 = _sentences(data, "nl", count, rng), _sentences(data, "en", count, rng)
    sets = {
        "nl sentence + en sentence (mixed)": [f"{a}\n{b}" for a, b in zip(nl, en, strict=True)],
        "nl 2 sentences + en 3-5 words (Dutch)": [
            f"{a} {c}\n{' '.join(b.split()[: rng.randint(3, 5)])}" for a, b, c in zip(nl, en, nl2, strict=True)
        ],
        "en 2 sentences + nl 3-5 words (English)": [
            f"{a} {c}\n{' '.join(b.split()[: rng.randint(3, 5)])}" for a, b, c in zip(en, nl, en2, strict=True)
        ],
    }
    print(f"Share of texts the mixed rule catches ({count} texts each), by mixed_share:\n")
    print("| texts | " + " | ".join(f"{share:.2f}" for share in SHARES) + " |")
    print("| --- |" + " ---: |" * len(SHARES))
    for name, texts in sets.items():
        shares = [detector.letter_shares(text) for text in texts]
        cells = []
        for share in SHARES:
            mixed = sum(1 for s in shares if s.get("nl", 0.0) >= share and s.get("en", 0.0) >= share)
            cells.append(f"{100 * mixed / len(texts):.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")

    adverts = build(data, count, args.seed)["adverts"]
    rules: Counter[str] = Counter()
    for sample in adverts:
        decision = detector.decide(sample.text)
        wrong = decision.rule in (Rule.DETECTED, Rule.NO_TEMPLATE) and decision.language != sample.language
        rules[f"{decision.rule}{' (wrong language)' if wrong else ''}"] += 1
    print(f"\nDefault rules on the advert variant ({len(adverts)} texts, 17 languages, templates nl en ro pl es):\n")
    print("| rule | texts | % |")
    print("| --- | ---: | ---: |")
    for rule, number in sorted(rules.items()):
        print(f"| {rule} | {number} | {100 * number / len(adverts):.1f} |")


if __name__ == "__main__":
    main()
