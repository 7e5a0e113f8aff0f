"""Phone numbers out of advert text and links, normalised to E.164 with `phonenumbers`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import phonenumbers
from phonenumbers import PhoneNumberType

# Any run that looks like a phone number, however it is written: removed from stored text even when it is not
# a valid number, because a half-recognised number is still personal data.
_NUMBER_LIKE = re.compile(r"\+?\(?\d[\d\s().\-/]{5,}\d")
_WHATSAPP_HOSTS = {"wa.me", "api.whatsapp.com", "whatsapp.com", "www.whatsapp.com"}


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
        is_mobile=phonenumbers.number_type(number) == PhoneNumberType.MOBILE,
    )


def parse_phone(raw: str, default_region: str) -> Phone | None:
    """One number as a person or a link writes it; None when it is not a valid number."""
    try:
        return _to_phone(phonenumbers.parse(raw, default_region))
    except phonenumbers.NumberParseException:
        return None


def find_phones(text: str, default_region: str) -> list[Phone]:
    """Every valid number in a text, in order of appearance, without repeats."""
    found: dict[str, Phone] = {}
    for match in phonenumbers.PhoneNumberMatcher(text, default_region):
        phone = _to_phone(match.number)
        if phone is not None:
            found.setdefault(phone.e164, phone)
    return list(found.values())


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


def scrub_numbers(text: str) -> str:
    """The text with every number-like run replaced, so stored advert text holds no phone number."""
    return _NUMBER_LIKE.sub("[number]", text)
