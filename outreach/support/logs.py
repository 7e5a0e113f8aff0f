"""Structured logs for the long-running processes (`outreach serve`): one JSON object per line on stderr.

A log collector (journald, Docker, Loki) can then filter by level and logger without parsing prose. What a line may
hold is decided here, once, for every logger including uvicorn's and SQLAlchemy's:

- the message, with anything shaped like a phone number replaced (the callers already log ids only; this is the
  net under them);
- for an exception, its type and where it was raised, but never its text: a database error's text repeats the
  statement's parameters, which can be a reply someone wrote or an encrypted number.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import TextIO

import phonenumbers
from phonenumbers import Leniency

# A bare run of nine or more digits (a number without its leading 0 or +): too long for an id we log.
_LONG_DIGITS = re.compile(r"(?<![\w.])\d{9,}(?![\w.])")
# The frames of a traceback worth keeping: enough to find the line, not so many that a line becomes a page.
TRACEBACK_FRAMES = 8


def scrub_phone_numbers(text: str, region: str) -> str:
    """Replace every valid phone number, in any common spelling, with [number]. Stricter than the crawler's
    scrub_numbers, which also takes addresses, dates and Twilio SIDs for numbers and would blind the log."""
    parts, last = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
        parts += [text[last : match.start], "[number]"]
        last = match.end
    parts.append(text[last:])
    return _LONG_DIGITS.sub("[number]", "".join(parts))


class JsonFormatter(logging.Formatter):
    def __init__(self, region: str = "NL") -> None:
        super().__init__()
        self.region = region

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub_phone_numbers(record.getMessage(), self.region),
        }
        if record.exc_info and record.exc_info[0] is not None:
            error, _value, trace = record.exc_info
            line["error"] = f"{error.__module__}.{error.__qualname__}"
            frames = traceback.extract_tb(trace)[-TRACEBACK_FRAMES:]
            line["where"] = [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames]
        return json.dumps(line, ensure_ascii=False)


def configure_json_logging(level: str = "INFO", region: str = "NL", stream: TextIO | None = None) -> None:
    """Send every logger's records, as JSON lines, to stderr (or `stream`); replaces earlier handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(region))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's loggers keep their own handlers unless told otherwise; route them through the one above.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
