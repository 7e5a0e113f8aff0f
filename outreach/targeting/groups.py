"""An advert's category as a site writes it -> the target group it belongs to (women, men, trans, couples).

Sites name categories in Dutch, English and sometimes German or French; the table holds the words met so far.
Extend it as fieldworkers meet new ones; a category not in it is "unknown" (targeting.unknown_category decides).
"""

from __future__ import annotations

from outreach.parsing.folding import normalise

_WORDS = {
    "women": ("vrouw", "vrouwen", "dame", "dames", "meisje", "meisjes", "woman", "women", "female", "lady", "ladies"),
    "men": ("man", "mannen", "heer", "heren", "jongen", "jongens", "men", "male", "boy", "boys", "gay"),
    "trans": ("trans", "transgender", "transvrouw", "transman", "ts", "tv"),
    "couples": ("stel", "stellen", "koppel", "koppels", "couple", "couples", "paar"),
}
_GROUP_OF = {normalise(word): group for group, words in _WORDS.items() for word in words}


def target_group(category: str | None) -> str | None:
    """ "Vrouw", "dames" -> "women"; None for a missing or unknown category."""
    if not category:
        return None
    return _GROUP_OF.get(normalise(category))
