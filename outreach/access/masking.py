"""Phone numbers as people may see them on screen: masked unless a supervisor reveals them."""

from __future__ import annotations

import phonenumbers


def mask(e164: str) -> str:
    """+31612345678 -> '+31 6 •••• •678': enough to tell numbers apart in a list, not to dial."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "•" * max(len(e164) - 3, 0) + e164[-3:]
    national = phonenumbers.national_significant_number(number)
    hidden = "•" * (len(national) - 4)
    masked = national[0] + " " + " ".join(hidden[i : i + 4] for i in range(0, len(hidden), 4)) + national[-3:]
    return f"+{number.country_code} {masked}"
