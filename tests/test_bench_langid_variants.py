"""The language benchmark's derived texts: what a reader of BENCHMARKS.md is told they are."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

from bench.langid.__main__ import CHOICE_SETS, choose
from bench.langid.udhr import length_range
from bench.langid.variants import VARIANTS, _read, advert_text, build, strip_diacritics
from messaging.language import clean_for_detection
from messaging.language.backends import RESEARCH_LANGUAGES


def test_it_removes_latin_diacritics_and_keeps_other_scripts_whole() -> None:
    assert strip_diacritics("Prawdziwa sława, ţigară, şehir, Ärger, Straße") == (
        "Prawdziwa slawa, tigara, sehir, Arger, Strasse"
    )
    assert strip_diacritics("Здравей, йогурт, ёлка") == "Здравей, йогурт, ёлка"
    assert strip_diacritics("ตรงประตูทางเข้า") == "ตรงประตูทางเข้า"


def test_an_advert_text_carries_each_kind_of_noise_which_cleaning_then_removes() -> None:
    text = advert_text("ik ben nieuw hier", random.Random(3))
    assert re.search(r"(\+31 ?6|06)[\d -]{8,}", text)  # a fake Dutch mobile number
    assert "€" in text or "euro" in text or "eur/u" in text
    assert any(ord(char) > 0x2000 for char in text)  # emoji
    assert clean_for_detection(text) == "ik ben nieuw hier"


LEIPZIG = Path(__file__).resolve().parents[1] / "../shared/data/langid/lingua-py"


@pytest.mark.skipif(not (LEIPZIG / "sentences").is_dir(), reason="no ../shared/data/langid")
def test_the_leipzig_pieces_are_short_unseen_and_cut_from_the_longer_sentences() -> None:
    variants = build(LEIPZIG, 300, 1)
    pieces = variants["leipzig-pieces"]
    short = {sample.text for name in ("selection", "held-out") for sample in variants[name]}
    assert len(pieces) == 17 * 300
    for language in RESEARCH_LANGUAGES:
        low, high = length_range(language)
        texts = [sample.text for sample in pieces if sample.language == language]
        # The cut rejoins clauses with one space (`18,1` gives `18, 1`): compare without whitespace.
        lines = _read(LEIPZIG / "sentences" / f"{language}.txt")
        longer = ["".join(line.split()) for line in lines if len(line) > high]
        assert len(set(texts)) == len(texts) == 300
        for text in texts:
            assert low <= len(text) <= high
            assert text not in short
            assert any("".join(text.split()) in line for line in longer)
    assert [sample.text for sample in variants["leipzig-pieces-no-diacritics"]] == [
        strip_diacritics(sample.text) for sample in pieces
    ]
    assert build(LEIPZIG, 300, 1)["leipzig-pieces"] == pieces  # the same options, the same texts


def test_the_rule_chooses_on_the_selection_half_alone() -> None:
    def result(name: str, selection: int, others: int) -> dict[str, Any]:
        figures = {v: {"right": selection if v in CHOICE_SETS else others, "texts": 100} for v in VARIANTS}
        return {"candidate": name, "peak_added_mb": 100, "load_cpu_seconds": 0.5, "variants": figures}

    assert set(CHOICE_SETS) == {"selection", "selection-no-diacritics"}
    assert not {"leipzig-pieces", "leipzig-pieces-no-diacritics"} & set(CHOICE_SETS)
    # Better everywhere but on the selection half: not chosen; and the rule reads no other set.
    assert choose([result("a", 99, 90), result("b", 98, 100)]) == "a"
    alone = [result("a", 99, 0), result("b", 98, 100)]
    for r in alone:
        r["variants"] = {v: r["variants"][v] for v in CHOICE_SETS}
    assert choose(alone) == "a"
