"""Times as people read them: in the organisation's time zone (`sending.timezone`, Europe/Amsterdam by default),
short ("ma 30 nov 10:12") or relative ("3 uur geleden"), and the local midnight that starts a counted day.

Stored times are UTC. Machine output (`--json`, `--csv`) keeps ISO 8601 with the offset; only what a person reads
goes through here, in the dashboard's language or, for the CLI's tables, in English.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta

# Weekday, day, month and time; the year only when it is not this year's.
_THIS_YEAR = "EEE d MMM HH:mm"
_OTHER_YEAR = "EEE d MMM y HH:mm"


def as_datetime(value: datetime | str) -> datetime:
    """A stored time (a datetime, or ISO 8601 as the views of outreach.reports give it), aware; naive is UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local(value: datetime | str, zone: str) -> datetime:
    return as_datetime(value).astimezone(ZoneInfo(zone))


def short(value: datetime | str | None, zone: str, locale: str = "en", now: datetime | None = None) -> str:
    """'ma 30 nov 10:12' (nl) or 'Mon 30 Nov 10:12' (en), with the year when it is not the current one; '-' for
    no time."""
    if value is None or value == "":
        return "-"
    moment = local(value, zone)
    this_year = local(now or datetime.now(UTC), zone).year
    return format_datetime(moment, _THIS_YEAR if moment.year == this_year else _OTHER_YEAR, locale=locale)


def ago(value: datetime | str | None, locale: str = "en", now: datetime | None = None) -> str:
    """'3 uur geleden' / '3 hours ago'; a time in the future reads 'over 3 uur' / 'in 3 hours'."""
    if value is None or value == "":
        return "-"
    delta = as_datetime(value) - (now or datetime.now(UTC))
    if abs(delta) < timedelta(minutes=1):
        delta = timedelta(0)
    return format_timedelta(delta, add_direction=True, locale=locale, threshold=1.5)


def day_of(value: date | datetime | str, zone: str) -> date:
    """The local date of a time (a date, or an ISO date without a time, is already one)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return local(value, zone).date()
    return value


def waited(value: datetime | str | None, locale: str = "en", now: datetime | None = None) -> str:
    """How long since `value`, without a direction: '3 uur' / '3 hours' (at least a minute)."""
    if value is None or value == "":
        return "-"
    delta = max((now or datetime.now(UTC)) - as_datetime(value), timedelta(minutes=1))
    return format_timedelta(delta, locale=locale, threshold=1.5)


def day_start(now: datetime, zone: str, days_back: int = 0) -> datetime:
    """The UTC time of local midnight `days_back` days before `now`'s local day (0: today's midnight)."""
    return midnight(local(now, zone).date() - timedelta(days=days_back), zone)


def midnight(day: date, zone: str) -> datetime:
    """The UTC time at which local `day` begins in `zone`."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# Every time zone's offset from UTC, and every change of it, falls on a whole quarter hour (since the 1970s).
QUARTER_HOUR = 900_000_000  # microseconds


class LocalDays:
    """The local date in `zone` of a time given as microseconds since 1970 (outreach.store.types.micros),
    remembered per quarter hour: all times of one quarter hour share their local date. Counting tens of thousands
    of facts per day or week this way costs a dictionary lookup each."""

    def __init__(self, zone: str) -> None:
        self._zone = ZoneInfo(zone)
        self._known: dict[int, date] = {}

    def __call__(self, at: int) -> date:
        quarter = at // QUARTER_HOUR
        day = self._known.get(quarter)
        if day is None:
            day = self._known[quarter] = datetime.fromtimestamp(quarter * 900, self._zone).date()
        return day
