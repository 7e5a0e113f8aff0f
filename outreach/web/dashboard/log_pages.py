"""The overview and the contact log: filters in the query string (never a number), search by number by POST,
pages of 50, CSV export of the filtered view."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from outreach import audit
from outreach.access.lookup import TooManySearches, find_person
from outreach.access.masking import mask
from outreach.access.numbers import normalise_number
from outreach.access.roles import visible_organisations
from outreach.access.users import SessionUser
from outreach.audit_events import Event
from outreach.errors import N_, UsageError
from outreach.reports.contact_log import COLUMNS, FOREIGN, LogFilter, iter_rows
from outreach.store.models import Site
from outreach.store.states import MessageStatus
from outreach.store.types import utcnow
from outreach.support.csv_safety import csv_writer
from outreach.web.dashboard.core import NOT_A_NUMBER, Dashboard, Form, HTTPProblem, int_param

PAGE_SIZE = 50
CSV_LIMIT = 100_000
FILTERS = ("from", "to", "site", "lang", "status", "region", "advert")


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise HTTPProblem(400, N_("%(field)s: expected a date YYYY-MM-DD"), field=name) from exc


def _at_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=utcnow().tzinfo)


def log_filter(params: Any) -> tuple[LogFilter, dict[str, str]]:
    """The LogFilter for the query string, and the filters as given (to fill in the form and the links)."""
    given = {name: str(params.get(name, "")).strip()[:100] for name in FILTERS}
    start, end = _day(given["from"], "from"), _day(given["to"], "to")
    if given["status"] and given["status"] not in list(MessageStatus):
        raise HTTPProblem(400, N_("status: not a message status"))
    page = int_param(params.get("page"), "page", 1) or 1
    wanted = LogFilter(
        since=_at_midnight(start) if start else None,
        until=_at_midnight(end) + timedelta(days=1) if end else None,
        site=given["site"] or None,
        language=given["lang"] or None,
        status=given["status"] or None,
        region=given["region"] or None,
        advert=given["advert"] or None,
        limit=PAGE_SIZE + 1,  # one more tells whether there is a next page
        offset=(page - 1) * PAGE_SIZE,
    )
    return wanted, {key: value for key, value in given.items() if value}


class LogPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def _organisations(self, user: SessionUser) -> list[str] | None:
        """With several organisations, a user sees only their own (umbrella supervisors: all)."""
        return visible_organisations(self.dashboard.settings, user.name)

    def _rows(self, wanted: LogFilter, user: SessionUser) -> list[dict[str, Any]]:
        wanted = replace(wanted, organisations=self._organisations(user))
        with self.dashboard.store.reading() as session:
            found = iter_rows(session, self.dashboard.vault, wanted, reveal=False)
            return list(found)

    def _choices(self) -> dict[str, list[str]]:
        with self.dashboard.store.reading() as session:
            sites = list(session.execute(select(Site.name).order_by(Site.name)).scalars())
        return {
            "sites": sites,
            "languages": self.dashboard.settings.languages,
            "statuses": [status.value for status in MessageStatus],
        }

    def log(self, request: Request, user: SessionUser, form: Form) -> Response:
        wanted, given = log_filter(request.query_params)
        rows = self._rows(wanted, user)
        page = wanted.offset // PAGE_SIZE + 1
        return self.dashboard.render(
            request,
            "log.html",
            {
                "user": user,
                "rows": rows[:PAGE_SIZE],
                "given": given,
                "page": page,
                "previous": {**given, "page": str(page - 1)} if page > 1 else None,
                "next": {**given, "page": str(page + 1)} if len(rows) > PAGE_SIZE else None,
                "searched": False,
                **self._choices(),
            },
        )

    def search(self, request: Request, user: SessionUser, form: Form) -> Response:
        """Search by number: by POST, so the number is in no URL, history or access log."""
        try:
            e164 = normalise_number(form.get("number", ""), self.dashboard.settings.default_region)
        except UsageError as exc:
            raise HTTPProblem(400, NOT_A_NUMBER) from exc
        with self.dashboard.store.session() as session:
            try:
                found = find_person(session, self.dashboard.vault, self.dashboard.access(user), e164, where="dashboard")
            except TooManySearches as exc:
                raise HTTPProblem(429, exc.message, **exc.params) from exc
            person_id = found.id if found is not None else None
        rows = self._rows(LogFilter(person_id=person_id, limit=PAGE_SIZE), user) if person_id is not None else []
        return self.dashboard.render(
            request,
            "log.html",
            {
                "user": user,
                "rows": rows,
                "given": {},
                "page": 1,
                "previous": None,
                "next": None,
                "searched": True,
                "searched_number": mask(e164),
                "searched_person": person_id,
                **self._choices(),
            },
        )

    def export(self, request: Request, user: SessionUser, form: Form) -> Response:
        wanted, given = log_filter(request.query_params)
        wanted = replace(wanted, limit=CSV_LIMIT, offset=0)
        with self.dashboard.store.session() as session:
            audit.record(session, Event.LOG_EXPORTED, user.name, where="dashboard", filters=given, masked=True)
        rows = self._rows(wanted, user)

        def lines() -> Iterator[str]:
            out = io.StringIO()
            writer = csv_writer(out, COLUMNS, FOREIGN)
            writer.writeheader()
            for i, row in enumerate(rows, start=1):
                writer.writerow(row)
                if i % 1000 == 0:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
            yield out.getvalue()

        return StreamingResponse(
            lines(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="contact-log.csv"', "Cache-Control": "no-store"},
        )
