"""The funnel of a period: from the adverts found to the persons who answered. Counts only; no personal data leaves
here. `outreach stats --by funnel`, the dashboard and the quarterly report count with this module.

The stages follow one cohort, the adverts first seen in the period, so each stage is part of the one before:

- adverts found: first seen in the period (in the organisation's regions);
- adverts with a number: of those, the ones a phone number was read from;
- persons found: the distinct persons behind those numbers;
- persons eligible: of those, the ones the targeting allowed: the last cycle's reason for their advert was not a
  policy or person exclusion (out of region, wrong category, keyword, held or rejected, opted out, blocked,
  invalid number, paused, not mobile), or they were contacted in the period;
- persons contacted: of those, the ones who got a first contact or reminder in the period that left us;
- delivered / replied / opted out: of the contacted, as outreach.reports.outcome_stats counts them (a reply is an
  inbound message after the contact that is not a bare keyword).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress
from operator import itemgetter, not_
from typing import Any

from outreach.reports.outcome_facts import Outcomes, contacts
from outreach.store.types import micros
from outreach.targeting.reasons import Reason

# The reasons that mean the targeting did not allow the person (the contact rhythm and the send policy do not
# count here: those persons are eligible and wait their turn).
NOT_ELIGIBLE = frozenset(
    {
        Reason.NO_NUMBER,
        Reason.NOT_MOBILE,
        Reason.OUT_OF_REGION,
        Reason.NO_CITY,
        Reason.WRONG_CATEGORY,
        Reason.UNKNOWN_CATEGORY,
        Reason.EXCLUDED_KEYWORD,
        Reason.NO_INCLUDED_KEYWORD,
        Reason.HELD,
        Reason.REJECTED,
        Reason.OPTED_OUT,
        Reason.BLOCKED,
        Reason.INVALID_NUMBER,
        Reason.PAUSED,
    }
)

_NOT_ALLOWED = {*NOT_ELIGIBLE, None}

STAGES = (
    "adverts_found",
    "adverts_with_number",
    "persons_found",
    "persons_eligible",
    "persons_contacted",
    "delivered",
    "replied",
)


@dataclass(frozen=True)
class Funnel:
    adverts_found: int
    adverts_with_number: int
    persons_found: int
    persons_eligible: int
    persons_contacted: int
    delivered: int
    replied: int
    opted_out: int  # beside the funnel: of the contacted, who opted out after the contact

    def stages(self) -> list[tuple[str, int]]:
        return [(stage, getattr(self, stage)) for stage in STAGES]

    def as_dict(self) -> dict[str, Any]:
        return {**dict(self.stages()), "opted_out": self.opted_out}


def funnel(data: Outcomes) -> Funnel:
    """The funnel of the adverts first seen in `data`'s period, in its organisations and regions (`data` from
    outcome_stats.load: the cohort, its persons and their reasons were read with it)."""
    persons = list(map(itemgetter(1), data.links))
    found = set(persons)
    contacted = contacts(data, micros(data.since))
    reached = found.intersection(contacted.first)
    # of the cohort's persons, those with an advert whose last reason is not an exclusion (nor missing)
    allowed = set(compress(persons, map(not_, map(_NOT_ALLOWED.__contains__, map(itemgetter(2), data.links)))))
    return Funnel(
        adverts_found=len(data.adverts),
        adverts_with_number=len(set(map(itemgetter(0), data.links))),
        persons_found=len(found),
        persons_eligible=len(allowed | reached),
        persons_contacted=len(reached),
        delivered=len(reached & contacted.delivered),
        replied=len(reached & contacted.replied),
        opted_out=len(reached & contacted.opted_out),
    )
