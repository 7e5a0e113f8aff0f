"""City as an advert writes it -> the municipality it lies in, so that a region filter can select on it.

Adverts name districts ("Rotterdam-Zuid", "Scheveningen"), villages inside a municipality ("Hoofddorp"),
English or official names ("The Hague", "'s-Gravenhage") and add noise ("Amsterdam centrum", "regio Utrecht").
The table holds the places that differ from their municipality's name; anything else keeps its cleaned name.
"""

from __future__ import annotations

import re
import unicodedata

# place (normalised key) -> municipality. Extend as fieldworkers meet new spellings.
_PLACES = {
    "den haag": "Den Haag",
    "the hague": "Den Haag",
    "s-gravenhage": "Den Haag",
    "scheveningen": "Den Haag",
    "loosduinen": "Den Haag",
    "ypenburg": "Den Haag",
    "leidschenveen": "Den Haag",
    "den bosch": "'s-Hertogenbosch",
    "s-hertogenbosch": "'s-Hertogenbosch",
    "bijlmer": "Amsterdam",
    "amsterdam-zuidoost": "Amsterdam",
    "hoofddorp": "Haarlemmermeer",
    "nieuw-vennep": "Haarlemmermeer",
    "schiphol": "Haarlemmermeer",
    "badhoevedorp": "Haarlemmermeer",
    "zaandam": "Zaanstad",
    "krommenie": "Zaanstad",
    "voorburg": "Leidschendam-Voorburg",
    "leidschendam": "Leidschendam-Voorburg",
    "spijkenisse": "Nissewaard",
    "hoogvliet": "Rotterdam",
    "rozenburg": "Rotterdam",
    "capelle": "Capelle aan den IJssel",
    "capelle a/d ijssel": "Capelle aan den IJssel",
    "capelle aan den ijssel": "Capelle aan den IJssel",
    "alphen": "Alphen aan den Rijn",
    "lelystad": "Lelystad",
    "almere-stad": "Almere",
    "almere-buiten": "Almere",
    "hilversum": "Hilversum",
    "ijmuiden": "Velsen",
    "katwijk aan zee": "Katwijk",
    "nootdorp": "Pijnacker-Nootdorp",
    "pijnacker": "Pijnacker-Nootdorp",
    "rijswijk zh": "Rijswijk",
}
# Noise around a place name: compass districts, "centrum", "regio ...", "omgeving ...", "(ZH)".
_NOISE = re.compile(
    r"\b(centrum|center|centre|regio|region|omgeving|area|near|bij|e\.o\.|eo)\b"
    r"|[-\s]+(noord|zuid|oost|west|north|south|east)\b|\((zh|nh|nb|ut|gld)\)",
    re.IGNORECASE,
)


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(text.casefold().replace("'", "").replace("’", "").split())


def municipality(city: str | None) -> str | None:
    """The municipality a written place lies in; the cleaned place itself when it is not in the table."""
    if not city or not city.strip():
        return None
    key = _key(city)
    if key in _PLACES:
        return _PLACES[key]
    cleaned = " ".join(_NOISE.sub(" ", city).replace(",", " ").split()).strip(" -")
    if not cleaned:
        return None
    return _PLACES.get(_key(cleaned), cleaned)
