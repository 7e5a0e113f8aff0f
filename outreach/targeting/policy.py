"""The organisation's selection policy for one advert (targeting: region, target groups, keywords), as a pure
function of the advert: pass, skip with a reason, or hold for a person's decision.

A skip wins over a hold: an advert out of region is not put in front of a reviewer because it also holds a hold
word. Person-level rules (opt-out, contact rhythm) are outreach.targeting.selection's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from outreach.parsing.places import municipality
from outreach.settings import MemberOrganisation, TargetingSettings
from outreach.targeting.groups import target_group
from outreach.targeting.keyword_rules import KeywordList, fold
from outreach.targeting.reasons import Reason


@dataclass(frozen=True)
class Verdict:
    reason: Reason | None = None  # None: the policy lets the advert be messaged (unless held)
    detail: str | None = None
    hold: str | None = None  # the rule that holds the advert for review, e.g. "keyword: agency"
    organisation: str | None = None  # with several organisations: the one whose region the advert is in

    @property
    def passes(self) -> bool:
        return self.reason is None and self.hold is None


class Policy:
    def __init__(self, targeting: TargetingSettings, organisations: list[MemberOrganisation] | None = None) -> None:
        self.settings = targeting
        self.units = {place.casefold(): unit for unit in organisations or [] for place in unit.municipalities}
        self.served = {name.casefold() for name in targeting.municipalities}
        self.groups: set[str] = set(targeting.categories)
        self.include = KeywordList.of(targeting.keywords.include)
        self.exclude = KeywordList.of(targeting.keywords.exclude)
        self.hold = KeywordList.of(targeting.keywords.hold)

    def judge(self, *, city: str | None, category: str | None, title: str, text: str) -> Verdict:
        if not self.units:
            return self._judge(city, category, title, text, self.groups)
        # Several organisations: the advert belongs to the one whose region holds its city. Without a city it
        # belongs to nobody, so it cannot be held for one organisation's review either.
        place = municipality(city)
        if place is None:
            return Verdict(Reason.NO_CITY)
        unit = self.units.get(place.casefold())
        if unit is None:
            return Verdict(Reason.OUT_OF_REGION, place)
        verdict = self._judge(city, category, title, text, set[str](unit.categories) or self.groups)
        return replace(verdict, organisation=unit.key)

    def _judge(self, city: str | None, category: str | None, title: str, text: str, groups: set[str]) -> Verdict:
        holds: list[str] = []
        if self.served:
            place = municipality(city)
            if place is None:
                if self.settings.unknown_city == "skip":
                    return Verdict(Reason.NO_CITY)
                holds.append("no city")
            elif place.casefold() not in self.served:
                return Verdict(Reason.OUT_OF_REGION, place)
        if groups:
            group = target_group(category)
            if group is None:
                if self.settings.unknown_category == "skip":
                    return Verdict(Reason.UNKNOWN_CATEGORY, category)
                holds.append(f"unknown category: {category or '-'}")
            elif group not in groups:
                return Verdict(Reason.WRONG_CATEGORY, f"{category} ({group})")
        folded = fold(title, text)
        excluded = self.exclude.first_match(folded)
        if excluded is not None:
            return Verdict(Reason.EXCLUDED_KEYWORD, excluded)
        if self.include.words and self.include.first_match(folded) is None:
            return Verdict(Reason.NO_INCLUDED_KEYWORD)
        held = self.hold.first_match(folded)
        if held is not None:
            holds.insert(0, f"keyword: {held}")
        return Verdict(hold="; ".join(holds)[:200]) if holds else Verdict()
