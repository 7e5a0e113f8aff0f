"""Schedules mean what cron means: `1-5` is Monday to Friday (APScheduler 3 alone would read Tuesday to Saturday)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from outreach.parsing.crontab import cron_trigger, weekday_names
from outreach.settings import load_settings

ZONE = ZoneInfo("Europe/Amsterdam")
SATURDAY = datetime(2026, 11, 28, 12, 0, tzinfo=ZONE)


def _next_days(expression: str, count: int = 7) -> list[str]:
    trigger, when, days = cron_trigger(expression, timezone=ZONE), SATURDAY, []
    for _ in range(count):
        when = trigger.get_next_fire_time(None, when)
        days.append(when.strftime("%a"))
        when = when.replace(hour=23, minute=59)
    return days


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("6,0", "sun,sat"),
        ("5-7", "sun,fri,sat"),
        ("fri-sun", "sun,fri,sat"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("*/2", "sun,tue,thu,sat"),
        ("1-5/2", "mon,wed,fri"),
        ("*", "*"),
    ],
)
def test_weekdays_are_read_as_cron_reads_them(field: str, names: str) -> None:
    assert weekday_names(field) == names


def test_a_weekday_schedule_fires_monday_to_friday() -> None:
    assert _next_days("0 9 * * 1-5", 5) == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    assert _next_days("0 9 * * 0", 2) == ["Sun", "Sun"]
    assert _next_days("*/30 8-22 * * *", 2) == ["Sat", "Sun"]


@pytest.mark.parametrize("bad", ["0 9 * * 8", "0 9 * *", "0 9 * * 5-1", "0 25 * * *", "0 9 * * mon/x"])
def test_a_wrong_schedule_is_a_clear_configuration_error(bad: str) -> None:
    with pytest.raises(Exception, match="not a crontab expression"):
        load_settings(schedule={"cycle_cron": bad})
