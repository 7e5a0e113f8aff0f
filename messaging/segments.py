"""How many SMS parts a text costs: GSM-7 when every character is in the GSM 03.38 alphabet, UCS-2 otherwise.

A single message holds 160 GSM-7 septets or 70 UCS-2 code units; a multipart message loses room to the
concatenation header (UDH) and holds 153 or 67 per part. Operators bill per part, and a long message arrives
split on some phones, so the templates are kept to a budget of parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# GSM 03.38 basic character set (without ESC, which only introduces the extension table).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each of these is sent as ESC + character, two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE = {"GSM-7": 160, "UCS-2": 70}
MULTIPART = {"GSM-7": 153, "UCS-2": 67}

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SegmentCount:
    encoding: Encoding
    characters: int  # what a person counts (code points)
    units: int  # what the network counts: septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def encoding_of(text: str) -> Encoding:
    return "GSM-7" if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text) else "UCS-2"


def _unit_sizes(text: str, encoding: Encoding) -> list[int]:
    """Per character, the units it takes; an escape pair or a surrogate pair is never split across parts."""
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # outside the BMP: a UTF-16 surrogate pair


def count_segments(text: str) -> SegmentCount:
    encoding = encoding_of(text)
    sizes = _unit_sizes(text, encoding)
    units = sum(sizes)
    if units <= SINGLE[encoding]:
        return SegmentCount(encoding, len(text), units, 1)
    room = MULTIPART[encoding]
    segments, used = 1, 0
    for size in sizes:
        if used + size > room:
            segments, used = segments + 1, 0
        used += size
    return SegmentCount(encoding, len(text), units, segments)
