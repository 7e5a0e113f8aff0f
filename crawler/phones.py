"""Phone numbers out of advert text and links, normalised to E.164 with `phonenumbers`.

Advertisers disguise numbers from scrapers and spam filters ("O6 12 34 56 78", "06🔥12🔥34🔥56🔥78",
"06 punt 12 punt 34 ...", "+31 (0)6", "0031 6") and write other figures right next to them ("+32 470 12 34 56 24/7",
"€150 06 12345678 30 min"), which phonenumbers alone reads as one invalid number. So runs of figures are read here
first (`_numbers_in_run`): a number is whole figures that phonenumbers validates, written as numbers are (with +, 00
or a trunk 0) and holding no time, date or line break, so that prices, times, dates and postcodes next to each other
make no number. phonenumbers' matcher reads the rest of the text, by the same rules. What is kept is decided by
`PhonePolicy`: mobiles of accepted countries; landlines, other countries and invalid numbers are counted and left out.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import phonenumbers
from phonenumbers import Leniency, PhoneNumberType

# Any run that looks like a phone number, however it is written: removed from stored text even when it is not
# a valid number, because a half-recognised number is still personal data.
_NUMBER_LIKE = re.compile(r"\+?\(?\d[\d\s().\-/]{5,}\d")
_WHATSAPP_HOSTS = {"wa.me", "api.whatsapp.com", "whatsapp.com", "www.whatsapp.com"}
MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}

# Words people put between digit groups ("06 punt 12", "06 dot 12", "06 en dan 12").
_FILLER_WORDS = r"(?:punt|dot|streepje|dash|space|spatie|en|dan|then|and|kropka|punct)"
# Between two digit groups: separators, symbols and emoji (anything that is neither a letter nor a digit), filler
# words, or a letter O standing for a zero.
# Not commas, semicolons or colons: those end a number ("06-12345678, 30 min").
_GAP = rf"(?:[^\w+,;:]|_|\s{_FILLER_WORDS}\s)"
# A run of figures: 9 or more digits (or letters O) in groups. Long enough to hold a number with the figures before
# and after it ("€150 06 12345678 24/7 30 min"), so the number is read whole wherever it stands in the run.
# Not right after a figure's colon or comma ("21:00 2012", "1,5"): those end a figure, and what follows is not a
# number's start.
# With the currency of a price at either end ("€150", "100 euro", "150,-"), to tell the price.
_CURRENCY = r"(?:[€$£]|euro|eur|,-)"
_RUN = re.compile(
    # The lookahead first: most characters of a text cannot start a run, and are passed over at once.
    rf"(?=[\dOo+€$£])(?<![\w+])(?<!\d[:,])(?:[€$£]\s?)?(\+|00)?[\dOo](?:{_GAP}{{0,6}}[\dOo]){{8,48}}"
    rf"(?:\s?{_CURRENCY})?(?!\w)",
    re.IGNORECASE,
)
_PRICE_BEFORE = re.compile(r"[€$£]\s?$")
_PRICE_AFTER = re.compile(r"\s?(?:euro|eur|,-)", re.IGNORECASE)  # "150 €" is rare, "0 €150" is not
# A digit group; a letter O counts as a zero only among digits, not inside a word ("dot", "kropka").
_GROUP = re.compile(r"(?<![^\W\d_])[\dOo]+(?![^\W\d_])")
# Never part of a number: a date with a four-digit year ("06-12-2026 10-22" is not 06 12202610), a range of times
# ("09.00-22.00" is not the premium number 0900 2200).
_NOT_A_NUMBER = re.compile(
    r"(?<!\d)(?:[0-3]?\d([-./])[01]?\d\1(?:19|20)\d\d|(?:19|20)\d\d([-./])[01]?\d\2[0-3]?\d"
    r"|[0-2]?\d[.:][0-5]\d\s*-\s*[0-2]?\d[.:][0-5]\d)(?!\d)"
)
# A figure that is a time, a date or body measures: never part of a number ("06.45", "0-24", "24/24", "24/02/27",
# "1/2", "12-11-25", "90-60-90").
_TIME_OR_DATE = re.compile(
    r"[0-2]?\d\.[0-5]\d|0-[12]?\d|[0-3]?\d/[0-3]?\d(?:/(?:\d\d)?\d\d)?|[0-3]?\d([-.])[01]?\d\1(?:\d\d)?\d\d"
    r"|[2-9]\d-[1-9]\d-[2-9]\d"
)
# What the matcher found starts or ends inside a figure ("10/06 2006 9131").
_INSIDE_FIGURE_BEFORE = re.compile(r"\d[-./:]$")
_INSIDE_FIGURE_AFTER = re.compile(r"[-./:]\d")
# Figures just outside a run ("2665 4417AB", "0 20u"), which phonenumbers would read on into.
_FIGURE_BEFORE = re.compile(r"\d\W{0,6}$")
_FIGURE_AFTER = re.compile(r"\W{0,6}\d")
_SPACED_SEPARATOR = re.compile(r"\s[-./]\s")
_NOT_PLAIN = re.compile(r"[^\d\s+().\-/]")
# Enough digits close together for phonenumbers' matcher to find a candidate (it wants 5 or more in most countries,
# with at most 4 separators between them): without them, the matcher is not run.
_CANDIDATE = re.compile(r"\d(?:\D{0,4}\d){3}")
_MAX_DIGITS = 17  # "00" and the longest E.164 number


def _is_disguised(run: str) -> bool:
    """Written with more than digits, spaces, dots, dashes, slashes and brackets: its letters O are zeros, and
    deobfuscate rewrites it even when it is one number alone (phonenumbers reads the plain spellings)."""
    # "06 - 12 - 34": phonenumbers gives up on spaced separators.
    return _SPACED_SEPARATOR.search(run) is not None or _NOT_PLAIN.search(run) is not None


def _joins(gap: str) -> bool:
    """A lone dash, dot or slash joins digit groups into one figure ("06-12345678", "22.00", "24/7")."""
    return gap in ("-", ".", "/")


@dataclass(frozen=True)
class Phone:
    e164: str
    country: str
    is_mobile: bool


def _to_phone(number: phonenumbers.PhoneNumber) -> Phone | None:
    # A number is valid when its type is known: what is_valid_number checks, here done once for both.
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN:
        return None
    return Phone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=phonenumbers.region_code_for_number(number) or "ZZ",
        is_mobile=kind in MOBILE_TYPES,
    )


def _start(digits: str, region: str) -> str | None:
    """How a number starting with `digits` is written, as what to put before its digits to read it: "" when
    international with + or the region's international prefix (00), or national with the trunk prefix the region
    writes (0, 06 in Hungary; any start where it writes none); "+" when it starts with the region's country code
    (31 6...: read as +31 6..., not as a national number that happens to start with 31; kept if a mobile). None for
    anything else, a bare national number ("612345678") too: figures next to each other ("24/24 47-586",
    "618 🔥 169 / 415") would read as one."""
    if digits.startswith("+"):
        return ""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return None
    if metadata.international_prefix and re.match(metadata.international_prefix, digits):
        return ""
    trunk = _written_trunk_prefix(region)
    if trunk is None or digits.startswith(trunk):
        return ""
    return "+" if digits.startswith(str(metadata.country_code)) else None


@functools.cache
def _written_trunk_prefix(region: str) -> str | None:
    """The trunk prefix national numbers are written with: "0" in the Netherlands, "06" in Hungary; None where there
    is none (Spain, Poland) or it is left out (Brazil "(11) 96123-4567", the United States)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if metadata is None or not metadata.national_prefix or example is None:
        return None
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    written = "".join(char for char in national if char.isdigit())
    return metadata.national_prefix if written.startswith(metadata.national_prefix) else None


def _valid(digits: str, region: str) -> Phone | None:
    try:
        return _to_phone(phonenumbers.parse(digits, region))
    except phonenumbers.NumberParseException:
        return None


@dataclass(frozen=True)
class _Found:
    start: int  # the span in the run, from the first group of the number to its last
    end: int
    phone: Phone


@functools.lru_cache(maxsize=4096)  # an advert's runs are read twice: to find numbers and to scrub them
def _numbers_in_run(run: str, region: str) -> tuple[_Found, ...]:
    """The valid numbers in a run of figures: from the left, the longest number (the longest mobile if there is
    one) that starts at a figure and is made of whole figures. A figure is digit groups joined by a lone dash, dot or
    slash ("06-12345678", "0470/12.34.56", "22.00", "24/7"). Numbers are written with a prefix (see _start), do
    not hold a time, a date, a price or a line break, so prices, times, dates and postcodes next to each other do
    not make a number."""
    disguised = _is_disguised(run)
    groups = [
        (m.start(), m.end(), re.sub(r"[Oo]", "0", m.group(0)) if disguised else m.group(0))
        for m in _GROUP.finditer(run)
    ]
    figures: list[tuple[int, int]] = []  # (first group, last group)
    for index, group in enumerate(groups):
        if index and _joins(run[groups[index - 1][1] : group[0]]):
            figures[-1] = (figures[-1][0], index)
        else:
            figures.append((index, index))
    found: list[_Found] = []
    first = 0
    while first < len(figures):
        start = 0 if first == 0 else groups[figures[first][0]][0]  # a leading + belongs to the number
        plus = "+" if first == 0 and run.startswith("+") else ""
        written = _start(plus + groups[figures[first][0]][2], region)
        if written is None:
            first += 1
            continue
        # The country code without its +: only a mobile, as WhatsApp writes it ("31612345678"); figures that happen
        # to start with 31 ("31840 1 10000") are no landline.
        mobile_only = written == "+" and not plus
        digits = plus or written
        ends = []
        for last in range(first, len(figures)):
            head, tail = figures[last]
            before = run[groups[head - 1][1] if head else 0 : groups[head][0]]
            if (
                _TIME_OR_DATE.fullmatch(run, groups[head][0], groups[tail][1])
                or (last > first and "\n" in before)
                or _PRICE_BEFORE.search(before)
                or _PRICE_AFTER.match(run, groups[tail][1])
            ):
                break
            digits += "".join(group[2] for group in groups[head : tail + 1])
            if len(digits) > _MAX_DIGITS:
                break
            ends.append((last, digits))
        best: tuple[int, Phone] | None = None
        # The longest mobile, else the longest number: "+49 151 13785382 30 min" is a mobile and "30", not the
        # voicemail number 151 1378538230.
        for last, digits in reversed(ends):
            end = groups[figures[last][1]][1]
            phone = None if _NOT_A_NUMBER.search(run, start, end) else _valid(digits, region)
            if phone and mobile_only and not phone.is_mobile:
                phone = None
            if phone and (best is None or phone.is_mobile):
                best = (last, phone)
                if phone.is_mobile:
                    break
        if best is None:
            first += 1
        else:
            found.append(_Found(start, groups[figures[best[0]][1]][1], best[1]))
            first = best[0] + 1
    return tuple(found)


# Stands for a number already read in the text given to phonenumbers' matcher (a private-use character).
_READ = "\ue000"


def _rewrite(text: str, region: str, mark: bool) -> tuple[str, list[Phone]]:
    """The text with the numbers in its runs of figures rewritten (as E.164, or as _READ when `mark`), and those
    numbers in order. A run without a valid number stays as it was; so does a plain number alone unless `mark`."""
    phones: list[Phone] = []

    def rewrite(match: re.Match[str]) -> str:
        run = match.group(0)
        if not any(char.isdigit() for char in run):
            return run  # letters O alone are words
        numbers = _numbers_in_run(run, region)
        if not numbers:
            return run
        figure_before = _FIGURE_BEFORE.search(text, max(0, match.start() - 7), match.start()) is not None
        figure_after = _FIGURE_AFTER.match(text, match.end()) is not None
        whole = len(numbers) == 1 and (numbers[0].start, numbers[0].end) == (0, len(run))
        if not mark and whole and not (_is_disguised(run) or figure_before or figure_after):
            return run  # a plain number alone: phonenumbers reads it as written
        parts, position = ["|"] if figure_before else [], 0
        for number in numbers:
            parts += [run[position : number.start], _READ if mark else number.phone.e164]
            phones.append(number.phone)
            position = number.end
        parts += [run[position:], "|" if figure_after else ""]
        # Figures around a number stay as written; what is between groups without a figure (a gap, a filler word)
        # goes. "|" keeps phonenumbers from reading a number and the figures next to it as one number.
        kept = [part.strip() for part in parts if part in ("|", _READ) or any(char.isdigit() for char in part)]
        return " " + " | ".join(kept).replace("| |", "|") + " "

    return _RUN.sub(rewrite, text), phones


def deobfuscate(text: str, region: str = "NL") -> str:
    """Rewrite numbers that phonenumbers cannot read as they are written into E.164: disguised ones (letter O as
    zero, emoji, symbols and filler words between digit groups), and those with other figures next to them
    ("+32 470 12 34 56 24/7", which phonenumbers reads as one invalid number). The figures next to a number stay as
    written, apart from it; a run without a valid number stays as it was."""
    return _rewrite(text, region, mark=False)[0]


def parse_phone(raw: str, default_region: str) -> Phone | None:
    """One number as a person or a link writes it; None when it is not a valid number."""
    try:
        return _to_phone(phonenumbers.parse(deobfuscate(raw, default_region).strip(), default_region))
    except phonenumbers.NumberParseException:
        return None


@dataclass
class FoundNumbers:
    """Valid numbers in order of appearance, and how many candidates were not valid numbers."""

    phones: list[Phone] = field(default_factory=list)
    invalid: int = 0


def scan_phones(text: str, default_region: str) -> FoundNumbers:
    """The numbers in runs of figures, read by _numbers_in_run, and what phonenumbers' matcher finds in the rest of
    the text (kept if our rules read it the same, see _written_as_number), in order."""
    marked, read = _rewrite(text.replace(_READ, ""), default_region, mark=True)
    at: list[tuple[int, Phone | None]] = list(zip(_positions(marked, _READ), read, strict=True))
    matches = phonenumbers.PhoneNumberMatcher(marked, default_region, leniency=Leniency.POSSIBLE)
    for match in matches if _CANDIDATE.search(marked) else ():
        phone = _to_phone(match.number)
        if phone and not _written_as_number(marked, match, phone, default_region):
            phone = None
        at.append((match.start, phone))
    found = FoundNumbers()
    seen: set[str] = set()
    for _, phone in sorted(at, key=lambda pair: pair[0]):
        if phone is None:
            found.invalid += 1
        elif phone.e164 not in seen:
            seen.add(phone.e164)
            found.phones.append(phone)
    return found


def _positions(text: str, char: str) -> list[int]:
    positions, index = [], text.find(char)
    while index >= 0:
        positions.append(index)
        index = text.find(char, index + 1)
    return positions


def _written_as_number(text: str, match: phonenumbers.PhoneNumberMatch, phone: Phone, region: str) -> bool:
    """What phonenumbers' matcher found (outside the runs our rules read, or in a run in which they found no
    number) passes the same rules: whole figures ("10/06 2006 9131" holds no number 06 2006 9131), read by
    _numbers_in_run as the same number."""
    if _INSIDE_FIGURE_BEFORE.search(text, max(0, match.start - 2), match.start):
        return False
    if _INSIDE_FIGURE_AFTER.match(text, match.end):
        return False
    return [found.phone.e164 for found in _numbers_in_run(match.raw_string, region)] == [phone.e164]


def find_phones(text: str, default_region: str) -> list[Phone]:
    """Every valid number in a text, in order of appearance, without repeats."""
    return scan_phones(text, default_region).phones


def phone_from_link(href: str, default_region: str) -> Phone | None:
    """tel: links and WhatsApp links (wa.me/316..., api.whatsapp.com/send?phone=316...)."""
    href = href.strip()
    if href.lower().startswith("tel:"):
        return parse_phone(href[4:], default_region)
    parsed = urlparse(href)
    if parsed.hostname not in _WHATSAPP_HOSTS:
        return None
    digits = parse_qs(parsed.query).get("phone", [""])[0] or parsed.path.strip("/")
    digits = re.sub(r"\D", "", digits)
    return parse_phone("+" + digits, default_region) if digits else None


def is_whatsapp_link(href: str) -> bool:
    return urlparse(href.strip()).hostname in _WHATSAPP_HOSTS


@dataclass(frozen=True)
class PhonePolicy:
    """Which numbers an advert keeps: mobiles of the accepted countries (configuration: mobile_countries)."""

    default_region: str
    accepted_countries: frozenset[str]

    def sort(self, phones: list[Phone], counts: Counter[str]) -> list[Phone]:
        kept = []
        for phone in phones:
            if not phone.is_mobile:
                counts["numbers_landline"] += 1
            elif phone.country not in self.accepted_countries:
                counts["numbers_other_country"] += 1
            else:
                kept.append(phone)
        return kept


def scrub_numbers(text: str, region: str = "NL") -> str:
    """The text with every number-like run replaced, so stored advert text holds no phone number."""
    scrubbed = _NUMBER_LIKE.sub("[number]", deobfuscate(text, region))
    if "|" not in scrubbed:
        return scrubbed
    return scrubbed.replace("[number] | ", "[number] ").replace(" | [number]", " [number]")
