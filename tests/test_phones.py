"""Phone extraction: the ways people write numbers all come back to the same E.164."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.phones import find_phones, phone_from_link, scrub_numbers

NL_MOBILE = "+31612345678"


@pytest.mark.parametrize(
    "written",
    [
        "06 12345678",
        "06-12345678",
        "06-1234 5678",
        "+31 6 12345678",
        "+31 (0)6 1234 5678",
        "0031 6 12345678",
        "0031612345678",
        "+31612345678",
        "06.12.34.56.78",
    ],
)
def test_it_reads_a_dutch_mobile_number_however_it_is_written(written: str) -> None:
    phones = find_phones(f"Bel of app mij: {written} na 10 uur", "NL")
    assert [(p.e164, p.is_mobile, p.country) for p in phones] == [(NL_MOBILE, True, "NL")]


def test_it_keeps_landlines_apart_from_mobiles() -> None:
    phones = find_phones("Tel. 010-1234567 of 06 12345678", "NL")
    assert {(p.e164, p.is_mobile) for p in phones} == {("+31101234567", False), (NL_MOBILE, True)}


def test_it_reads_tel_and_whatsapp_links() -> None:
    assert phone_from_link("tel:0612345678", "NL").e164 == NL_MOBILE  # type: ignore[union-attr]
    assert phone_from_link("https://wa.me/31612345678", "NL").e164 == NL_MOBILE  # type: ignore[union-attr]
    assert phone_from_link("https://api.whatsapp.com/send?phone=40723456789", "NL").country == "RO"  # type: ignore[union-attr]
    assert phone_from_link("https://example.org/31612345678", "NL") is None
    assert phone_from_link("tel:12", "NL") is None


def test_it_finds_nothing_in_text_without_numbers_or_with_prices() -> None:
    assert find_phones("Nieuw in Rotterdam, 24/7, vanaf €150 per uur", "NL") == []


def test_scrubbed_text_holds_no_number() -> None:
    text = "Bel 06-1234 5678 of +31 (0)6 1234 5678, 30 min €100"
    scrubbed = scrub_numbers(text)
    assert "5678" not in scrubbed
    assert "€100" in scrubbed and "30 min" in scrubbed


separators = st.sampled_from(["", " ", "-", ".", "  "])


@given(
    subscriber=st.integers(min_value=10_000_000, max_value=59_999_999),
    prefix=st.sampled_from(["06", "+316", "+31 6", "+31 (0)6", "0031 6", "00316"]),
    sep=separators,
    split=st.integers(min_value=1, max_value=7),
)
def test_any_supported_spelling_of_a_dutch_mobile_parses_back_to_the_same_e164(
    subscriber: int, prefix: str, sep: str, split: int
) -> None:
    digits = str(subscriber)
    written = f"{prefix}{sep}{digits[:split]}{sep}{digits[split:]}"
    phones = find_phones(f"Mijn nummer is {written}.", "NL")
    assert [p.e164 for p in phones] == [f"+316{digits}"]
    assert "[number]" in scrub_numbers(f"Mijn nummer is {written}.")
