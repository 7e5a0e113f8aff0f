"""Benchmark: one full cycle (crawl child -> store -> select -> compose -> send -> status refresh) against the
fixture site and the test gateway on 127.0.0.1, on a fresh SQLite database each run.

    .venv/bin/python -m bench.cycle [--adverts 300] [--runs 5]

Prints the median and spread of each phase, and peak RSS of this process and of the crawl child.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import outreach.cycle.run as cycle_module
from messaging.outbox.drain import Outbox
from outreach.crypto import new_keys
from outreach.settings import load_settings
from outreach.store.db import upgrade
from testworld.fixture_site import FixtureSite
from testworld.policy import world_overrides
from testworld.twilio_gateway import TwilioGateway


def _timed(phases: dict[str, float], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - start

    return wrapper


def one_run(adverts: int) -> dict[str, float]:
    phases: dict[str, float] = {}
    folder = Path(tempfile.mkdtemp(prefix="outreach-bench-"))
    hmac_key, fernet_key = new_keys()
    # Each phase timed by wrapping the function the cycle calls (a benchmark may; tests pass clocks in instead).
    patched: list[tuple[Any, str]] = [(cycle_module, "run_crawl"), (Outbox, "drain"), (Outbox, "refresh_statuses")]
    originals = [getattr(owner, name) for owner, name in patched]
    for (owner, name), original, label in zip(
        patched, originals, ("crawl (child process)", "send", "status refresh"), strict=True
    ):
        setattr(owner, name, _timed(phases, label, original))
    try:
        with FixtureSite(seed=1, count=adverts) as site, TwilioGateway() as gateway:
            site.write_site_file(folder / "sites")
            settings = load_settings(
                database_url=f"sqlite:///{folder / 'bench.db'}",
                hmac_key=hmac_key,
                fernet_key=fernet_key,
                **world_overrides(folder, gateway),
            )
            upgrade(settings.database_url)
            start = time.perf_counter()
            report = cycle_module.run_cycle(settings, actor="bench")
            phases["total"] = time.perf_counter() - start
            phases["messages"] = sum(report.sent.values())
    finally:
        for (owner, name), original in zip(patched, originals, strict=True):
            setattr(owner, name, original)
    phases["select + compose"] = phases["total"] - sum(
        phases[k] for k in ("crawl (child process)", "send", "status refresh")
    )
    return phases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--adverts", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = [one_run(args.adverts) for _ in range(args.runs)]
    print(f"cycle over {args.adverts} adverts, {args.runs} runs, messages per run: {runs[0]['messages']:.0f}")
    for phase in ("crawl (child process)", "select + compose", "send", "status refresh", "total"):
        values = sorted(run[phase] for run in runs)
        print(f"  {phase:24s} median {statistics.median(values):6.2f} s   min {values[0]:6.2f}   max {values[-1]:6.2f}")
    per_message = statistics.median(run["send"] / run["messages"] for run in runs) * 1000
    print(f"  send per message         median {per_message:6.1f} ms")
    crawl_median = statistics.median(r["crawl (child process)"] for r in runs)
    print(f"  adverts/s through crawl  median {args.adverts / crawl_median:6.1f}")
    print(
        f"  peak RSS: this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
        f"crawl child {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
