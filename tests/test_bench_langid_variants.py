"""The language benchmark's derived texts: what a reader of BENCHMARKS.md is told they are."""

from __future__ import annotations

import random
import re

from bench.langid.variants import advert_text, strip_diacritics
from messaging.language import clean_for_detection


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
