"""A pytest plugin that keeps the test suite off the network: a test that contacts, or looks up, any host other than
this machine (127.0.0.0/8, ::1, localhost) fails, and the contact is refused before anything leaves.

Register it in the root conftest.py:

    pytest_plugins = ["tests.network_guard"]

At the start of the session (pytest_configure) it
- guards this process (tests/loopback_only.py: socket's connect and lookups refuse other hosts and record it);
- guards the Python processes the tests start (the crawl child `python -m crawler`, `python -m outreach ...`): a
  sitecustomize.py written to a folder of its own is put first on PYTHONPATH, and NETWORK_GUARD_RECORD names the file
  every process appends its refusals to. A child started with an environment of its own without these two variables
  is not guarded.
After each phase of each test (setup, call, teardown), refusals recorded since, by this process or a child, fail the
test with where they came from. A test of the guard itself takes the refusals it expects with the fixture
`network_attempts`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import loopback_only

RECORD_VARIABLE = "NETWORK_GUARD_RECORD"
MARKER = "NETWORK_GUARD"  # a file beside each guard's sitecustomize.py

_SITECUSTOMIZE = '''\
"""Written by tests/network_guard.py for one test session: this Python process may contact only this machine."""
import importlib.machinery
import importlib.util
import os
import sys

_spec = importlib.util.spec_from_file_location("network_guard_loopback_only", {module!r})
_guard = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _guard
_spec.loader.exec_module(_guard)
_guard.install(os.environ.get({variable!r}))

# Another sitecustomize this one hides (Debian's Python has one): run it too, but never another guard's (under
# pytest-xdist the controller and each worker put their own first on PYTHONPATH: two guards would run each other).
_other = importlib.machinery.PathFinder.find_spec(
    "sitecustomize",
    [path for path in sys.path if not os.path.exists(os.path.join(os.path.abspath(path or "."), {marker!r}))],
)
if _other is not None and _other.loader is not None:
    _other.loader.exec_module(importlib.util.module_from_spec(_other))
'''


@dataclass
class Attempts:
    """The lines processes appended to the record file, read from where the last reader stopped."""

    record: Path
    offset: int = 0
    installed: list[dict[str, Any]] = field(default_factory=list)  # every guarded process so far

    def take(self) -> list[dict[str, Any]]:
        """The refusals recorded since the last call."""
        with self.record.open("rb") as file:
            file.seek(self.offset)
            data = file.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written is read next time
        self.offset += len(complete)
        refused: list[dict[str, Any]] = []
        for line in complete.decode("utf-8").splitlines():
            entry = json.loads(line)
            (refused if entry["kind"] == "refused" else self.installed).append(entry)
        return refused


@dataclass
class _Session:
    folder: Path
    attempts: Attempts
    environment: dict[str, str | None]


_session: _Session | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _session
    folder = Path(tempfile.mkdtemp(prefix="network-guard-"))
    record = folder / "record.jsonl"
    record.touch()
    module = Path(loopback_only.__file__).resolve()
    (folder / MARKER).write_text("a network guard's sitecustomize\n", encoding="utf-8")
    (folder / "sitecustomize.py").write_text(
        _SITECUSTOMIZE.format(module=str(module), variable=RECORD_VARIABLE, marker=MARKER), encoding="utf-8"
    )
    environment = {name: os.environ.get(name) for name in ("PYTHONPATH", RECORD_VARIABLE)}
    paths = [str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    os.environ[RECORD_VARIABLE] = str(record)
    loopback_only.install(str(record))
    _session = _Session(folder, Attempts(record), environment)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _session
    if _session is None:
        return
    loopback_only.uninstall()
    for name, value in _session.environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(_session.folder, ignore_errors=True)
    _session = None


def _fail_on_refusals(when: str) -> None:
    if _session is None:
        return
    refused = _session.attempts.take()
    if refused:
        lines = [f"{entry['call']} to {entry['target']} by {_process(entry)}" for entry in refused]
        where = "\n      ".join(refused[0]["where"])
        pytest.fail(
            f"contacted a host other than this machine during {when} (refused by tests/network_guard.py):\n  "
            + "\n  ".join(lines)
            + f"\n  first from:\n      {where}",
            pytrace=False,
        )


def _process(entry: dict[str, Any]) -> str:
    if entry["pid"] == os.getpid():
        return "the test process"
    return f"child process {entry['pid']}: {' '.join(entry['argv'])}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        _fail_on_refusals("setup")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        _fail_on_refusals("the test")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        _fail_on_refusals("teardown")


@pytest.fixture
def network_attempts() -> Iterator[Attempts]:
    """For tests of the guard: `take()` returns (and so clears) the refusals recorded since the test started;
    `installed` lists every process the guard was installed in."""
    if _session is None:
        pytest.fail("tests.network_guard is not active: register it with pytest_plugins in the root conftest.py")
    _fail_on_refusals("setup")
    yield _session.attempts
