"""Phone numbers out of advert text and links, normalised to E.164 with `phonenumbers`.

Advertisers disguise numbers from scrapers and spam filters: "O6 12 34 56 78", "06🔥12🔥34🔥56🔥78",
"06 punt 12 punt 34 ...", "+31 (0)6", "0031 6". `deobfuscate` rewrites such runs into plain digits first; then
`phonenumbers` finds and validates. What is kept is decided by `PhonePolicy`: mobiles of accepted countries;
landlines, other countries and invalid numbers are counted and left out.
"""

from __future__ import annotations

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
_DISGUISED = re.compile(rf"(?<![\w+])(\+|00)?[\dOo](?:{_GAP}{{0,6}}[\dOo]){{8,16}}(?!\w)")


def _is_disguised(run: str) -> bool:
    """Plain spellings (spaces, dots, dashes, brackets) are left to phonenumbers, which reads them well."""
    if re.search(r"\s[-./]\s", run):  # "06 - 12 - 34": phonenumbers gives up on spaced separators
        return True
    return any(not (char.isdigit() or char.isspace() or char in "+().-/") for char in run)


def _valid_prefix(digits: str, region: str) -> int:
    """The length of the longest start of `digits` that is a valid number (0 if none): a disguised run may run
    on into the next figures of the text ("06🔥12🔥34🔥56🔥78 30 min")."""
    for length in range(min(len(digits), 16), 7, -1):
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(digits[:length], region)):
                return length
        except phonenumbers.NumberParseException:
            continue
    return 0


def _from_run_on(raw: str, region: str) -> Phone | None:
    """phonenumbers reads "+31 612345678 - 30 min" as one (invalid) number: the valid number at its start."""
    digits = ("+" if raw.lstrip().startswith("+") else "") + re.sub(r"\D", "", raw)
    length = _valid_prefix(digits, region)
    return _to_phone(phonenumbers.parse(digits[:length], region)) if length else None


def deobfuscate(text: str, region: str = "NL") -> str:
    """Rewrite disguised numbers as plain digits: letter O as zero, emoji, symbols and filler words between digit
    groups dropped. A run is rewritten only when a valid number comes out of it; the rest stays as it was."""

    def plain(match: re.Match[str]) -> str:
        run = match.group(0)
        if not _is_disguised(run) or sum(char.isdigit() for char in run) < 6:
            return run  # plain spellings, and words like "Zoo"
        digits = ("+" if run.startswith("+") else "") + re.sub(r"\D", "", re.sub(r"[Oo]", "0", run))
        length = _valid_prefix(digits, region)
        if not length:
            return run
        rest = digits[length:]
        # "|" keeps phonenumbers from reading the number and the figures after it as one number.
        return f" {digits[:length]} " + (f"| {rest} " if rest else "")

    return _DISGUISED.sub(plain, text)


@dataclass(frozen=True)
class Phone:
    e164: str
    country: str
    is_mobile: bool


def _to_phone(number: phonenumbers.PhoneNumber) -> Phone | None:
    if not phonenumbers.is_valid_number(number):
        return None
    return Phone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=phonenumbers.region_code_for_number(number) or "ZZ",
        is_mobile=phonenumbers.number_type(number) in MOBILE_TYPES,
    )


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
    found = FoundNumbers()
    seen: set[str] = set()
    for match in phonenumbers.PhoneNumberMatcher(
        deobfuscate(text, default_region), default_region, leniency=Leniency.POSSIBLE
    ):
        phone = _to_phone(match.number) or _from_run_on(match.raw_string, default_region)
        if phone is None:
            found.invalid += 1
        elif phone.e164 not in seen:
            seen.add(phone.e164)
            found.phones.append(phone)
    return found


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
    return scrubbed.replace("[number] | ", "[number] ")
