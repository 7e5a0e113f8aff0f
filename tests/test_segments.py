"""SMS parts are money and readability: the count must match what the network bills."""

from __future__ import annotations

import pytest

from messaging.segments import count_segments, encoding_of


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),
        ("€" * 81, "GSM-7", 162, 2),
        ("Où êtes-vous?", "UCS-2", 13, 1),  # ê is not in GSM-7, ù is
        ("Ça va? Où? Ñu §¿¡ ÄÖÜ äöü à è é ù ì ò @£$¥ ΔΦΓΛΩΠΨΣΘΞ", "GSM-7", 53, 1),
        ("П" * 70, "UCS-2", 70, 1),
        ("П" * 71, "UCS-2", 71, 2),
        ("П" * 134, "UCS-2", 134, 2),
        ("П" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),
        ("😀" * 36, "UCS-2", 72, 2),
    ],
)
def test_it_counts_parts_like_the_network(text: str, encoding: str, units: int, segments: int) -> None:
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)


@pytest.mark.parametrize("character", list("€[]{}~^\\|"))
def test_every_extension_character_counts_double(character: str) -> None:
    count = count_segments(f"a{character}b")
    assert (count.encoding, count.characters, count.units) == ("GSM-7", 3, 4)


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 306 septets would be two parts of 153, but the € would straddle the boundary and moves to a third part.
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text).units == 306
    assert count_segments(text).segments == 3


def test_a_cyrillic_text_is_ucs2_and_counts_its_letters() -> None:
    count = count_segments("Здравей, как си? Помагаме безплатно.")
    assert (count.encoding, count.characters, count.units, count.segments) == ("UCS-2", 36, 36, 1)


def test_a_single_letter_outside_gsm7_turns_the_whole_text_ucs2() -> None:
    assert encoding_of("Hoi, ik ben Sanne") == "GSM-7"
    assert encoding_of("Hoi, ik ben Sanne ą") == "UCS-2"
    assert encoding_of("ç") == "UCS-2"  # only the capital Ç is in GSM-7
    assert count_segments("a" * 100 + "ą").segments == 2  # 101 UCS-2 units: over 70
