"""The normaliser against the ways advertisers disguise numbers: every supported writing of a valid number parses
back to the same E.164 (property-based), and the configured policy keeps only accepted mobiles."""

from __future__ import annotations

from collections import Counter

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from crawler.phones import PhonePolicy, find_phones, phone_from_link, scan_phones, scrub_numbers

# Mobile numbers as (E.164 country code, national significant number) for NL and the EU countries most
# advertisers come from (CONTEXT.md): Romania, Poland, Bulgaria, Hungary, Spain.
_MOBILE_PREFIXES = {"31": ["6"], "40": ["72", "74", "75", "76"], "48": ["50", "60", "69", "72", "78"], "34": ["6"]}


@st.composite
def mobiles(draw: st.DrawFn) -> tuple[str, str]:
    code = draw(st.sampled_from(sorted(_MOBILE_PREFIXES)))
    head = draw(st.sampled_from(_MOBILE_PREFIXES[code]))
    digits = draw(st.text(alphabet="0123456789", min_size=9 - len(head), max_size=9 - len(head)))
    national = head + digits
    number = phonenumbers.parse(f"+{code}{national}")
    assume(phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) == PhoneNumberType.MOBILE)
    return code, national


def _group(digits: str, separator: str, size: int) -> str:
    return separator.join(digits[i : i + size] for i in range(0, len(digits), size))


@st.composite
def disguised(draw: st.DrawFn) -> tuple[str, str]:
    """(the way an advert writes it, the E.164 it stands for)"""
    code, national = draw(mobiles())
    e164 = f"+{code}{national}"
    style = draw(st.sampled_from(["international", "double_zero", "national", "plus_trunk"]))
    if code != "31" and style in ("national", "plus_trunk"):
        style = "international"
    separator = draw(st.sampled_from(["", " ", "-", ".", " 🔥 ", "❤", "*", " punt ", " - ", "_"]))
    size = draw(st.integers(min_value=2, max_value=4))
    if style == "national":
        written = _group("0" + national, separator, size)
    elif style == "plus_trunk":
        written = f"+31 (0){national[0]} " + _group(national[1:], separator, size)
    elif style == "double_zero":
        written = f"00{code} " + _group(national, separator, size)
    else:
        written = f"+{code} " + _group(national, separator, size)
    if draw(st.booleans()):
        written = written.replace("0", "O")  # letter O for zero
    return written, e164


@given(disguised())
def test_any_supported_disguise_of_a_mobile_number_parses_back_to_the_same_e164(case: tuple[str, str]) -> None:
    written, e164 = case
    text = f"Nieuw hier! Bel of app {written} - 30 min, 24/7"
    assert [p.e164 for p in find_phones(text, "NL")] == [e164]
    assert e164[-6:] not in scrub_numbers(text).replace(" ", "")


@given(mobiles())
def test_links_of_any_mobile_parse_back_to_its_e164(mobile: tuple[str, str]) -> None:
    code, national = mobile
    e164 = f"+{code}{national}"
    for href in (
        f"tel:{e164}",
        f"https://wa.me/{code}{national}",
        f"https://api.whatsapp.com/send?phone={code}{national}",
    ):
        phone = phone_from_link(href, "NL")
        assert phone is not None and phone.e164 == e164


@pytest.mark.parametrize(
    "written",
    ["O6 12 34 56 78", "06🔥12🔥34🔥56🔥78", "06 punt 12 punt 34 punt 56 punt 78", "06*12*34*56*78", "06-1234-5678"],
)
def test_it_reads_common_disguises(written: str) -> None:
    assert [p.e164 for p in find_phones(f"Bel {written} na 10 uur", "NL")] == ["+31612345678"]


def test_an_advert_with_several_numbers_keeps_all_of_them() -> None:
    text = "Bel 06-12345678 of app +40 723 456 789; ook 0031 6 87654321"
    assert [p.e164 for p in find_phones(text, "NL")] == ["+31612345678", "+40723456789", "+31687654321"]


def test_the_policy_keeps_accepted_mobiles_and_counts_the_rest() -> None:
    found = scan_phones("Tel 010-1234567, mobiel 06 12345678, UK +44 7911 123456", "NL")
    counts: Counter[str] = Counter()
    kept = PhonePolicy("NL", frozenset({"NL", "RO"})).sort(found.phones, counts)
    assert [p.e164 for p in kept] == ["+31612345678"]
    assert counts == {"numbers_landline": 1, "numbers_other_country": 1}


def test_prices_times_and_dates_are_not_numbers() -> None:
    assert find_phones("Vanaf €150, 30 min €80, 24/7, 12-05-2026, 1.70 m, 65 kg", "NL") == []
