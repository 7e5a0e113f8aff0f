"""The JSON log lines of the long-running processes: one object per line, never a phone number or an error's text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from outreach.support.logs import configure_json_logging
from tests.messaging_world import numbers


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_json_logging("INFO", "NL", stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_a_number_in_a_message_or_an_error_never_reaches_the_log(log_stream: io.StringIO) -> None:
    number = numbers(1, start=90)[0]
    national = "0" + number[3:]
    logger = logging.getLogger("outreach.test")
    logger.info("reply from %s and %s, message=%s", number, f"{national[:2]} {national[2:]}", 1234567)
    try:
        raise ValueError(f"INSERT failed [parameters: ('{national}', 'Hoi, bel me')]")
    except ValueError:
        logger.exception("status message=%s not stored", 42)
    logging.getLogger("uvicorn.error").info("Uvicorn running on http://127.0.0.1:8080")
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == ["outreach.test", "outreach.test", "uvicorn.error"]
    assert lines[0]["message"] == "reply from [number] and [number], message=1234567"  # ids survive
    assert lines[1]["message"] == "status message=42 not stored"
    assert lines[1]["error"] == "builtins.ValueError" and "test_json_logs.py" in lines[1]["where"][-1]
    assert lines[2]["message"] == "Uvicorn running on http://127.0.0.1:8080"  # addresses are not numbers
    text = log_stream.getvalue()
    assert number[1:] not in text and national not in text and number[3:] not in text and "bel me" not in text
