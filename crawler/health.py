"""Whether one site's crawl can be trusted: `ok`, `degraded` or `failed`, with the reasons, from its counters and
the site's previous crawl. A crawl that lost adverts never says "ok".

The rules (docs/sites.md, "When a crawl is not ok"):

failed: nothing could be read
- the browser of a site that needs JavaScript could not start (Playwright's driver or chromium; the reason is
  given): the installation, not the site, is at fault, and the whole crawl counts as failed;
- no listing page could be read (every one failed, or the site was abandoned before one answered);
- listing pages were read but the listing selectors found no advert on them;
- detail pages were requested but not one gave an advert.

degraded: something was lost or looks wrong
- more than LOSS_SHARE of the detail pages were lost: fetching failed after the retries (the advert is tried again
  next run), the page could not be read, or it had no advert id;
- a field the site file names found nothing on any advert of the run (a wrong selector), or it was found on
  FIELD_DROP fewer of the adverts than in the site's previous crawl (the site changed its markup);
- a first crawl found adverts but no phone number on any of them, or a later one found none where the previous
  found some;
- the number reveal failed (or found nothing) for more than REVEAL_FAILURE_SHARE of the adverts that have one;
- the site was abandoned for the run (too many failures, or a Retry-After longer than we wait).

Below MIN_ADVERTS parsed adverts the share rules stay quiet: three adverts without a city are chance, not markup.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from outreach.store.states import CrawlRunStatus

LOSS_SHARE = 0.05
FIELD_DROP = 0.05
REVEAL_FAILURE_SHARE = 0.5
MIN_ADVERTS = 5
FIELDS = ("title", "text", "city", "category", "whatsapp")
LOSSES = ("detail_failed", "detail_error", "no_ad_id")

# A site's health and a crawl run's status are the same words (a run is as bad as its worst site).
OK, DEGRADED, FAILED = CrawlRunStatus.OK, CrawlRunStatus.DEGRADED, CrawlRunStatus.FAILED


@dataclass(frozen=True)
class Problem:
    health: CrawlRunStatus  # degraded or failed
    reason: str  # a short code: lost_details, no_adverts, field_lost:city, ...
    message: str
    count: int
    example: str | None  # the first URL it happened on, for the engineer who opens the site

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _int(counters: dict[str, Any], name: str) -> int:
    try:
        return int(counters.get(name, 0) or 0)
    except (TypeError, ValueError):
        return 0


def _example(counters: dict[str, Any], reason: str) -> str | None:
    value = counters.get(f"examples/{reason}")
    return str(value) if value else None


def assess(counters: dict[str, Any], previous: dict[str, Any] | None) -> list[Problem]:
    """Every problem of one site's crawl; its health is the worst of them (ok when there is none)."""
    problems: list[Problem] = []
    listing_pages = _int(counters, "listing_pages")
    entries = _int(counters, "listing_entries")
    requested = _int(counters, "details_requested")
    parsed = _int(counters, "details_parsed")
    abandoned = counters.get("abandoned")

    if counters.get("browser_failed"):
        reason = f"the browser could not start: {counters['browser_failed']}"
        problems.append(Problem(FAILED, "no_browser", reason, 1, None))
    if listing_pages == 0:
        why = f"abandoned: {abandoned}" if abandoned else "every listing page failed"
        failed = _int(counters, "problems/listing_failed") + _int(counters, "problems/listing_error")
        problems.append(
            Problem(
                FAILED, "no_listing", f"no listing page could be read ({why})", failed, _example(counters, "listing")
            )
        )
        return problems
    if entries == 0:
        problems.append(
            Problem(
                FAILED,
                "no_adverts",
                f"the listing selectors found no advert on {listing_pages} listing page(s)",
                listing_pages,
                _example(counters, "listing_empty"),
            )
        )
        return problems
    if requested and parsed == 0:
        problems.append(
            Problem(
                FAILED,
                "no_details",
                f"none of {requested} detail pages gave an advert",
                requested,
                next((_example(counters, loss) for loss in LOSSES if _example(counters, loss)), None),
            )
        )
        return problems

    lost = {loss: _int(counters, f"problems/{loss}") for loss in LOSSES}
    if requested and sum(lost.values()) > LOSS_SHARE * requested:
        parts = ", ".join(f"{count} {loss.replace('_', ' ')}" for loss, count in lost.items() if count)
        worst = max(lost, key=lambda loss: lost[loss])
        problems.append(
            Problem(
                DEGRADED,
                "lost_details",
                f"{sum(lost.values())} of {requested} detail pages lost ({parts})",
                sum(lost.values()),
                _example(counters, worst),
            )
        )
    problems += _fields(counters, previous, parsed)

    seen, with_phone = _int(counters, "adverts_seen"), _int(counters, "adverts_with_phone")
    had_numbers = previous is not None and _int(previous, "adverts_with_phone") > 0
    if seen >= MIN_ADVERTS and with_phone == 0:
        message = (
            f"{seen} adverts without a phone number; the previous crawl found numbers"
            if had_numbers
            else f"{seen} adverts stored, not one with a phone number"
        )
        problems.append(Problem(DEGRADED, "no_numbers", message, seen, _example(counters, "no_number")))

    attempts = _int(counters, "reveal_attempts")
    reveal_lost = _int(counters, "problems/reveal_failed") + _int(counters, "problems/reveal_empty")
    if attempts >= MIN_ADVERTS and reveal_lost > REVEAL_FAILURE_SHARE * attempts:
        problems.append(
            Problem(
                DEGRADED,
                "reveal_failed",
                f"the number reveal failed or found nothing for {reveal_lost} of {attempts} adverts",
                reveal_lost,
                _example(counters, "reveal_failed") or _example(counters, "reveal_empty"),
            )
        )
    if abandoned:
        problems.append(Problem(DEGRADED, "abandoned", f"abandoned for this run: {abandoned}", 1, None))
    return problems


def _fields(counters: dict[str, Any], previous: dict[str, Any] | None, parsed: int) -> list[Problem]:
    problems = []
    for field in FIELDS:
        found, missing = _int(counters, f"fields/{field}/found"), _int(counters, f"fields/{field}/missing")
        total = found + missing
        if total < MIN_ADVERTS:
            continue
        example = _example(counters, f"missing_{field}")
        if found == 0:
            problems.append(
                Problem(
                    DEGRADED,
                    f"field_lost:{field}",
                    f"`{field}` found nothing on any of {total} adverts (check its selector)",
                    missing,
                    example,
                )
            )
            continue
        if previous is None:
            continue
        before_found = _int(previous, f"fields/{field}/found")
        before_total = before_found + _int(previous, f"fields/{field}/missing")
        if before_total < MIN_ADVERTS:
            continue
        before, now = before_found / before_total, found / total
        if before - now > FIELD_DROP:
            problems.append(
                Problem(
                    DEGRADED,
                    f"field_lost:{field}",
                    f"`{field}` found on {now:.0%} of adverts, {before:.0%} in the previous crawl",
                    missing,
                    example,
                )
            )
    return problems


def health_of(problems: list[Problem]) -> CrawlRunStatus:
    if any(problem.health == FAILED for problem in problems):
        return FAILED
    return DEGRADED if problems else OK


def worst(healths: list[str]) -> CrawlRunStatus:
    """A run's health: the worst of its sites' (an unknown word counts as failed)."""
    order = {OK: 0, DEGRADED: 1, FAILED: 2}
    known = [CrawlRunStatus(health) if health in order else FAILED for health in healths]
    return max(known, key=lambda health: order[health], default=OK)
