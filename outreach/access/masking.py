"""Phone numbers and advert addresses as people may see them on screen: masked unless a supervisor reveals them."""

from __future__ import annotations

from urllib.parse import urlsplit

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


def mask_url(url: str) -> str:
    """'https://www.example.nl/advertentie/anna-12345?x=1' -> 'www.example.nl/•••': the site, never the page.

    The page behind an advert's address shows the number: its path (often a name and an id) is shown only through
    the audited reveal, like the number itself."""
    host = urlsplit(url).hostname or ""
    return f"{host}/•••" if host else "•••"
