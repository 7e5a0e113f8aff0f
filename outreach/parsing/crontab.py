"""Crontab expressions as cron users read them, for APScheduler 3.

APScheduler 3's `CronTrigger.from_crontab` reads the weekday field with 0 = Monday, while cron's 0 (and 7) is
Sunday: `0 9 * * 1-5` would run Tuesday to Saturday, not on weekdays. So the weekday field is rewritten to day
names, which mean the same to both, before APScheduler sees it.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron's numbering: 0 (and 7) is Sunday


def cron_trigger(expression: str, timezone: tzinfo | str | None = None) -> Any:
    """An APScheduler CronTrigger for `minute hour day month weekday`; ValueError with the reason if it is not one."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=weekday_names(weekday), timezone=timezone
    )


def weekday_names(field: str) -> str:
    """`1-5` -> `mon,tue,wed,thu,fri`; `0`, `7` and `sun` are Sunday; `*`, lists, ranges and steps as in cron."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        body, slash, step_text = part.partition("/")
        step = _number(step_text, "step") if slash else 1
        if step < 1:
            raise ValueError(f"weekday step must be at least 1, got {step}")
        if body == "*":
            first, last = 0, 6
        elif "-" in body:
            start, _, end = body.partition("-")
            first, last = _day(start), _day(end)
            if last < first and last == 0:
                last = 7  # `fri-sun`, `5-0`: to the end of the week
        else:
            first = _day(body)
            last = 6 if slash else first
        if last < first:
            raise ValueError(f"weekday range {body!r} runs backwards")
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(DAY_NAMES[day] for day in sorted(days))


def _day(text: str) -> int:
    name = text.strip().lower()
    if name[:3] in DAY_NAMES and not name.isdigit():
        return DAY_NAMES.index(name[:3])
    value = _number(name, "weekday")
    if not 0 <= value <= 7:
        raise ValueError(f"weekday must be 0-7 or a day name, got {text!r}")
    return value


def _number(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{what} must be a number, got {text!r}") from None
