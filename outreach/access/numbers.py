"""A phone number typed by a person (CLI) in any common format, to E.164, or one clear error."""

from __future__ import annotations

import phonenumbers

from outreach.errors import N_, UsageError


def normalise_number(raw: str, default_region: str) -> str:
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise UsageError(N_("not a phone number: %(raw)r"), raw=raw) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise UsageError(N_("not a valid phone number: %(raw)r"), raw=raw)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def describe_number(e164: str) -> tuple[str, bool]:
    """(country, is_mobile) of a valid E.164 number."""
    parsed = phonenumbers.parse(e164)
    kind = phonenumbers.number_type(parsed)
    mobile = kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    return phonenumbers.region_code_for_number(parsed) or "ZZ", mobile
