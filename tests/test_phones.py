"""Phone extraction: the ways people write numbers all come back to the same E.164.

Every number here is fictitious: phonenumbers' example numbers (NL_MOBILE is the Dutch one)."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from crawler.phones import find_phones, phone_from_link, scan_phones, scrub_numbers

NL_MOBILE = "+31612345678"


def example_mobile(region: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    assert number is not None
    return number


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
    assert phone_from_link("https://api.whatsapp.com/send?phone=40712034567", "NL").country == "RO"  # type: ignore[union-attr]
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


# What adverts write right after a number (issue 16): phonenumbers alone reads "+32 450 00 12 34 24/7" as one
# invalid number and finds nothing.
FIGURES_AFTER = ["24/7", "30 min", "100 euro", "2026", "1234 AB", "10-22", "10.00-22.00", "12-05-2026", "€150 p/u"]


@pytest.mark.parametrize("region", ["NL", "BE", "ES", "RO", "PL", "BG", "HU", "DE", "FR", "GB", "IT", "PT", "CZ"])
@pytest.mark.parametrize("figures", FIGURES_AFTER)
def test_a_number_of_any_country_followed_by_other_figures_is_found(region: str, figures: str) -> None:
    number = example_mobile(region)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    for written in (international, "00" + international[1:], e164, international.replace(" ", "-")):
        assert [p.e164 for p in find_phones(f"Bel {written} {figures}", "NL")] == [e164], written
        assert [p.e164 for p in find_phones(f"Bel {written} - {figures}", "NL")] == [e164], written
    # Written nationally, in its own country.
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    assert [p.e164 for p in find_phones(f"Tel {national} {figures}", region)] == [e164], national


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bel 06 12345678 24/7 30 min €150", [NL_MOBILE]),
        ("Vanaf €150 06 12345678 24/7", [NL_MOBILE]),  # figures before the number too
        ("06🔥12🔥34🔥56🔥78 30 min 100 euro", [NL_MOBILE]),
        ("O6 12 34 56 78 2026", [NL_MOBILE]),
        ("+32 450 00 12 34 06 12345678", ["+32450001234", NL_MOBILE]),  # two numbers in one run of figures
        ("06 dot 12 dot 34 dot 56 dot 78", [NL_MOBILE]),  # filler words with an o in them
        ("06 kropka 12 kropka 34 kropka 56 kropka 78", [NL_MOBILE]),
        ("+49 1512 3456789 30 min", ["+4915123456789"]),  # the mobile, not a longer voicemail number
        ("Nieuw in 2026\n06 12345678", [NL_MOBILE]),  # title and text: no number across the line break
        ("+34 612 34 56 78, 24/7", ["+34612345678"]),
        ("WhatsApp 31612345678 24/7", [NL_MOBILE]),  # the country code without its +, as WhatsApp writes it
    ],
)
def test_numbers_among_other_figures(text: str, expected: list[str]) -> None:
    assert [p.e164 for p in find_phones(text, "NL")] == expected


@pytest.mark.parametrize(
    "text",
    [
        "06-12-2026 10-22",  # a date and hours: not 06 12202610
        "09.00-22.00 30 min €150",  # not the premium number 0900 2200
        "0-24 1234 AB 2026",
        "24/7 06.00-23.00 100 euro",
        "1.70 m 65 kg 90-60-90 25 jaar",
        "€ 150 / 30 min / 12-05-2026 / 1011 AB",
        "10.5.27 - € 250  2016 1 uur 🔥 1.55 m",
        "24/24  47-586",  # no number without its 0 or +
        "618 🔥 169 / 415 681",
        "10/06  2006  9131 XK",
        "11:00-21:00 2012 ❤ 2000. 2010",  # not +20 1220002010
        "05.15\n01/03/25",
        "06-20 90-60-90",  # hours and measures: not 06 20906090
    ],
)
def test_figures_next_to_each_other_are_not_numbers(text: str) -> None:
    assert find_phones(f"Vanaf {text} ok", "NL") == []


@pytest.mark.parametrize(
    ("region", "text"),
    [
        ("NL", "31840 1 10000"),  # starts with 31, but is no mobile: not read as +31 840110000
        ("ES", "€150 €150 100 euro"),  # no trunk prefix in Spain: any figure may start a number, a price does not
        ("PL", "150,- 150 150 zł 24/24"),
        ("ES", "10.00-22.00 150 2026 06.45"),
    ],
)
def test_figures_next_to_each_other_are_not_numbers_in_other_countries_either(region: str, text: str) -> None:
    assert find_phones(f"Desde {text} ok", region) == []


def test_the_figures_after_a_number_stay_in_the_stored_text() -> None:
    assert scrub_numbers("Bel +32 450 00 12 34 24/7 ok") == "Bel  [number] 24/7  ok"
    assert scrub_numbers("06🔥12🔥34🔥56🔥78 - 30 min") == " [number] - 30  min"


def test_a_private_use_character_in_the_text_changes_nothing() -> None:
    """scan_phones marks the numbers it read with a private-use character; one in the advert is dropped first."""
    assert [p.e164 for p in scan_phones("\ue000 Bel 06 12345678 24/7 \ue000", "NL").phones] == [NL_MOBILE]
