"""Benchmark: drain a large outbox against the test gateway at a configured rate.

    .venv/bin/python -m bench.send [--messages 10000] [--rate 50] [--fault-messages 2000] [--database URL]

The gateway runs in its own process, as Twilio would be elsewhere: this process is only the sender.
Clean run: achieved rate against the limit, duplicates at the gateway, the busiest one-second window the gateway saw,
peak RSS and RSS sampled during the drain (flat memory means no per-message growth).
Fault run: 10% injected faults (5xx before and after acceptance, 429, timeouts, dropped connections): every message
must end sent exactly once, or failed with a reason.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from messaging.outbox.factory import make_outbox
from outreach.crypto import PhoneVault, new_keys
from outreach.people import optouts
from outreach.settings import Settings, load_settings
from outreach.store.adverts import FoundPhone, person_id
from outreach.store.db import Store, upgrade
from outreach.store.models import Message
from outreach.store.types import utcnow
from testworld.web_server import free_port

BODY = "Hoi, ik ben Sanne van Demo Outreach. Wij helpen gratis en anoniem. Geen berichten meer? Antwoord STOP."


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def fill(store: Store, vault: PhoneVault, count: int) -> None:
    now = utcnow()
    with store.session() as session:
        for i in range(count):
            pid = person_id(session, vault, FoundPhone(f"+316{10_000_000 + i:08d}", "NL", True), now)
            session.add(Message(person_id=pid, body=BODY, language="nl", status="queued", created_at=now))


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    """The most sends the gateway saw in any sliding window of `window` seconds."""
    times = sorted(times)
    best, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


@contextmanager
def gateway_process(fault_rate: float = 0.0) -> Iterator[str]:
    """The test gateway in a child process; yields its URL."""
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "testworld.twilio_gateway", "--port", str(port), "--fault-rate", str(fault_rate),
         "--seed", "42", "--hang-seconds", "1.5"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        yield url
    finally:
        child.terminate()
        child.wait(timeout=10)


def gateway_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_test/stats", timeout=30) as response:  # noqa: S310 - 127.0.0.1
        stats: dict[str, Any] = json.load(response)
    return stats


def settings_for(database: str, url: str, rate: float, timeout: float = 15.0) -> Settings:
    hmac_key, fernet_key = new_keys()
    twilio = {
        "account_sid": "AC" + "0" * 32,
        "auth_token": "test-token",
        "from_number": "+15555550101",
        "api_base_url": url,
    }
    return load_settings(
        database_url=database,
        hmac_key=hmac_key,
        fernet_key=fernet_key,
        dry_run=False,
        twilio={**twilio, "timeout_seconds": timeout},
        sending={
            "window_start": "00:00",
            "window_end": "00:00",
            "per_second": rate,
            "cycle_cap": 10**7,
            "daily_cap": 10**7,
            "retry_max_seconds": 2,
        },
    )


def clean_run(database: str, messages: int, rate: float) -> dict[str, Any]:
    with gateway_process() as url:
        settings = settings_for(database, url, rate)
        upgrade(settings.database_url)
        store = Store(settings.database_url)
        fill(store, PhoneVault.from_settings(settings), messages)
        outbox = make_outbox(settings, store, "bench", optouts)
        samples: list[float] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(5):
                samples.append(rss_mb())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start = time.perf_counter()
        report = outbox.drain()
        elapsed = time.perf_counter() - start
        done.set()
        sent = sum(report.sent.values())
        stats = gateway_stats(url)
        store.close()
    return {
        "sent": sent,
        "elapsed_s": round(elapsed, 1),
        "achieved_per_s": round(sent / elapsed, 2),
        "ratio_to_limit": round(sent / elapsed / rate, 3),
        "duplicates": sum(1 for count in stats["per_number"].values() if count > 1),
        "max_in_any_1s_window": max_in_any_window(stats["arrivals"]),
        "rss_first_mb": round(samples[0], 1) if samples else None,
        "rss_last_mb": round(samples[-1], 1) if samples else None,
        "rss_median_mb": round(statistics.median(samples), 1) if samples else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def fault_run(database: str, messages: int, rate: float) -> dict[str, Any]:
    with gateway_process(fault_rate=0.10) as url:
        settings = settings_for(database, url, rate, timeout=1.0)
        upgrade(settings.database_url)
        store = Store(settings.database_url)
        fill(store, PhoneVault.from_settings(settings), messages)
        outbox = make_outbox(settings, store, "bench", optouts)
        drains = 0
        start = time.perf_counter()
        while True:
            drains += 1
            report = outbox.drain()
            with store.session() as session:
                open_ = session.execute(
                    select(Message.id).where(Message.status.in_(("queued", "sending", "unknown")))
                ).all()
            if not open_ or drains >= 10:
                break
        elapsed = time.perf_counter() - start
        with store.session() as session:
            rows = session.execute(select(Message.status, Message.error_message)).all()
        statuses = Counter(status for status, _ in rows)
        failed_without_reason = sum(1 for status, reason in rows if status == "failed" and not reason)
        stats = gateway_stats(url)
        store.close()
        return {
            "messages": messages,
            "drains": drains,
            "elapsed_s": round(elapsed, 1),
            "faults_injected": stats["faults"],
            "statuses": dict(statuses),
            "failed_without_reason": failed_without_reason,
            "numbers_with_more_than_one_message": sum(1 for count in stats["per_number"].values() if count > 1),
            "numbers_at_gateway": len(stats["per_number"]),
            "last_drain_stopped": report.stopped.value if report.stopped else None,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--fault-messages", type=int, default=2_000)
    parser.add_argument("--database", help="SQLAlchemy URL of an EMPTY database (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-bench-send-") as folder:
        database = args.database or f"sqlite:///{Path(folder) / 'clean.db'}"
        print("clean run:", clean_run(database, args.messages, args.rate), flush=True)
        if args.fault_messages:
            fault_db = f"sqlite:///{Path(folder) / 'faults.db'}" if not args.database else args.database
            if args.database:
                print("fault run skipped: it needs a second empty database; run it on SQLite")
            else:
                print("fault run:", fault_run(fault_db, args.fault_messages, args.rate), flush=True)


if __name__ == "__main__":
    main()
