"""The overview (today, 7 and 30 days, the funnel of the last 30 days, messages per day, the ad sites' health) and
`/stats` (a chosen period: the funnel, response and opt-out rates with their 95% intervals per language, site,
region and template variant against the manual-fieldwork reference, and the weekly trend). Counts only; every
figure is outreach.reports' (the same as `outreach stats`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from datetime import date, datetime, timedelta
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from outreach import audit
from outreach.access.roles import visible_organisations, visible_regions
from outreach.access.users import SessionUser
from outreach.audit_events import Event
from outreach.errors import N_
from outreach.reports import outcome_stats
from outreach.reports.crawl_report import latest_sites
from outreach.reports.funnel import funnel
from outreach.reports.outcome_labels import label_counts
from outreach.reports.outcome_stats import OutcomeRow
from outreach.reports.quarterly import quarterly_report
from outreach.reports.rates import MANUAL_RESPONSE_RATE
from outreach.reports.status import last_cycle_problem
from outreach.reports.template_stats import template_stats
from outreach.store.types import utcnow
from outreach.support.local_time import day_start, local, midnight
from outreach.web.dashboard import charts, overview
from outreach.web.dashboard.core import Dashboard, Form, HTTPProblem, int_param
from outreach.web.dashboard.recent_figures import RecentFigures
from outreach.web.report_pdf import report_pdf

log = logging.getLogger(__name__)

PERIOD_DAYS = (7, 30, 90, 365)
# The overview shows figures counted at most this many seconds before (then counts again after the response): the
# cycles change them hourly, and a cold count costs about a third of a second (BENCHMARKS.md, "Dashboard").
OVERVIEW_MAX_AGE = 60.0
MAX_DAYS = 3 * 366


def _chart() -> dict[str, int]:
    return {"width": charts.CHART_WIDTH, "height": charts.CHART_HEIGHT, "pad": charts.CHART_PAD}


def _rows_with_bars(rows: list[OutcomeRow]) -> list[dict[str, Any]]:
    return [
        {
            "row": row,
            "response": charts.rate_bar(row.response_rate, row.response_interval),
            "opt_out": charts.rate_bar(row.opt_out_rate, row.opt_out_interval),
        }
        for row in rows
    ]


class StatsPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self.figures: RecentFigures[overview.OverviewFigures] = RecentFigures(OVERVIEW_MAX_AGE)

    def _scope(self, user: SessionUser) -> tuple[list[str] | None, set[str] | None]:
        """With several organisations, a user counts only their own (umbrella supervisors: all)."""
        return self._scope_of(user.name)

    def _scope_of(self, actor: str) -> tuple[list[str] | None, set[str] | None]:
        organisations = visible_organisations(self.dashboard.settings, actor)
        return organisations, visible_regions(self.dashboard.settings, organisations)

    def _overview_count(
        self, organisations: list[str] | None, regions: set[str] | None
    ) -> tuple[Hashable, Callable[[], overview.OverviewFigures]]:
        """The overview's scope key (what decides what its users may see) and the count of its figures."""
        scope = (
            None if organisations is None else tuple(sorted(organisations)),
            None if regions is None else frozenset(regions),
        )

        def count() -> overview.OverviewFigures:
            zone = self.dashboard.settings.sending.timezone
            with self.dashboard.store.reading() as session:
                return overview.count_figures(session, utcnow(), zone, organisations=organisations, regions=regions)

        return scope, count

    def warm(self, stopping: threading.Event) -> None:
        """Count the overview of every scope the configuration gives users (the whole, each organisation's, each
        member's of several), so that no first view after a start waits for its count (BENCHMARKS.md, "Dashboard").
        Runs in its own thread at start; a scope that fails to count is left to its first view."""
        settings = self.dashboard.settings
        actors = {member for unit in settings.organisations for member in unit.members}
        counts: dict[Hashable, Callable[[], overview.OverviewFigures]] = {}
        # one organisation (or none named): everybody sees the whole; else each actor their organisations
        for actor in sorted(actors | set(settings.umbrella_supervisors)) if settings.organisations else [""]:
            key, count = self._overview_count(*self._scope_of(actor))
            counts.setdefault(key, count)
        for key, count in counts.items():
            if stopping.is_set():
                return
            try:
                self.figures.warm(key, count)
            except Exception as exc:  # the first view counts it again, and says what went wrong
                log.warning("overview not counted at start (%s): %s", exc.__class__.__name__, exc)

    def overview(self, request: Request, user: SessionUser, form: Form) -> Response:
        scope, count = self._overview_count(*self._scope(user))
        figures, recount = self.figures.get(scope, count)
        with self.dashboard.store.reading() as session:  # the sites' health and the last cycle: always live
            sites = [site for _run_id, site in latest_sites(session)]
            cycle_problem = last_cycle_problem(session)
        bars, top = overview.chart_bars(figures.days)
        response = self.dashboard.render(
            request,
            "overview.html",
            {
                "user": user,
                "counted_at": figures.counted_at,
                "totals": figures.totals,
                "funnel": figures.funnel,
                "days": figures.days,
                "bars": bars,
                "top": top,
                "chart": _chart(),
                "breakdowns": figures.breakdowns,
                "sites": sites,
                "cycle_problem": cycle_problem,
            },
        )
        if recount is not None:
            response.background = BackgroundTask(recount)
        return response

    def _period(self, request: Request, now: datetime, zone: str) -> tuple[datetime, datetime | None, dict[str, str]]:
        """[since, until) from `days` (7, 30, 90, 365) or from `from`/`to` (local dates, both included)."""
        params = request.query_params
        given = {name: str(params.get(name, "")).strip()[:10] for name in ("days", "from", "to")}
        if given["from"]:
            start = _date(given["from"], "from")
            end = _date(given["to"], "to") if given["to"] else local(now, zone).date()
            if end < start or (end - start).days > MAX_DAYS:
                raise HTTPProblem(400, N_("Choose a period of one day to three years, the end after the start."))
            since, until = midnight(start, zone), midnight(end + timedelta(days=1), zone)
            return since, (until if until < now else None), {**given, "days": ""}
        days = int_param(given["days"], "days", 90) or 90
        if days not in PERIOD_DAYS:
            raise HTTPProblem(400, N_("Choose one of the periods offered."))
        return day_start(now, zone, days - 1), None, {**given, "days": str(days)}

    def stats(self, request: Request, user: SessionUser, form: Form) -> Response:
        now = utcnow()
        zone = self.dashboard.settings.sending.timezone
        since, until, given = self._period(request, now, zone)
        organisations, regions = self._scope(user)
        with self.dashboard.store.reading() as session:
            data = outcome_stats.load(session, since, until=until, organisations=organisations, regions=regions)
            stages = funnel(data)
            # Template variants are counted over every organisation's messages: umbrella view only (as the CLI).
            variants = template_stats(session) if organisations is None else None
            outcomes = label_counts(session, since, until, organisations=organisations)
        (total,) = outcome_stats.group(data, "total", zone) or [OutcomeRow("all")]
        rates = {
            by: _rows_with_bars(overview.breakdown(data, zone, by, limit=30)) for by in ("language", "site", "region")
        }
        weeks = outcome_stats.group(data, "week", zone)
        trend, trend_top = charts.grouped_bars(
            [(date.fromisoformat(w.group), (w.persons_contacted, w.replied, w.opted_out)) for w in weeks],
            ("messages", "replies", "opt-outs"),
        )
        return self.dashboard.render(
            request,
            "stats.html",
            {
                "user": user,
                "given": given,
                "periods": PERIOD_DAYS,
                "since": since,
                "until": (until or now) - timedelta(microseconds=1),
                "funnel": stages,
                "total": total,
                "total_bars": _rows_with_bars([total])[0],
                "rates": rates,
                "variants": [
                    {"variant": v, "response": charts.rate_bar(v.response_rate, v.interval)} for v in variants or []
                ]
                if variants is not None
                else None,
                "weeks": weeks,
                "outcomes": outcomes,
                "trend": trend,
                "trend_top": trend_top,
                "chart": _chart(),
                "reference": MANUAL_RESPONSE_RATE,
                "rate_width": charts.RATE_WIDTH,
            },
        )

    def report(self, request: Request, user: SessionUser, form: Form) -> Response:
        """The quarterly report of the period /stats shows, as a PDF in the user's language; audited."""
        now = utcnow()
        settings = self.dashboard.settings
        zone = settings.sending.timezone
        since, until, _given = self._period(request, now, zone)
        organisations, regions = self._scope(user)
        names = [unit.name for unit in settings.organisations if organisations and unit.key in organisations]
        language = self.dashboard.language(request, user)
        with self.dashboard.store.reading() as session:
            figures = quarterly_report(
                session,
                since,
                until or now,
                zone,
                ", ".join(names) or settings.organisation.name,
                organisations=organisations,
                regions=regions,
            )
        with self.dashboard.store.session() as session:
            audit.record(
                session,
                Event.REPORT_MADE,
                user.name,
                where="dashboard",
                since=since.isoformat(),
                to=(until or now).isoformat(),
                language=language,
            )
        pdf = report_pdf(figures, language, zone, now)
        first, last = local(since, zone).date(), local((until or now) - timedelta(microseconds=1), zone).date()
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="outreach-{first.isoformat()}-{last.isoformat()}.pdf"',
                "Cache-Control": "no-store",
            },
        )


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise HTTPProblem(400, N_("%(field)s: expected a date YYYY-MM-DD"), field=name) from exc
