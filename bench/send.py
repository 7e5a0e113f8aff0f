"""Benchmark: drain a large outbox against the test gateway at a configured rate.

    .venv/bin/python -m bench.send [--messages 10000] [--rate 50] [--fault-messages 2000]
    .venv/bin/python -m bench.send --postgres "$(scripts/test-postgres dsn)" --fault-messages 0 [--senders 1,2]

The gateway runs in its own process, as Twilio would be elsewhere, and so does each sender (this process only fills
the outbox). Clean run: one or several sender processes drain one outbox, each paced at --rate (sending.per_second
is per sender process: a provider limit shared by two senders is configured as half each); achieved rate against
the limit they share, duplicates at the gateway, the busiest one-second window the gateway saw, SQL statements,
transactions and database round trips per message, RSS at the start and end of the drain (flat memory means no
per-message growth).
Fault run: 10% injected faults (5xx before and after acceptance, 429, timeouts, dropped connections): every message
must end sent exactly once, or failed with a reason.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, event, select
from sqlalchemy.engine import make_url

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


def settings_for(
    database: str, url: str, rate: float, timeout: float = 15.0, keys: tuple[str, str] | None = None
) -> Settings:
    hmac_key, fernet_key = keys or new_keys()
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


class StatementCounter:
    """Counts what the sender asks of the database: SQL statements (every cursor execute, SQLite's BEGIN IMMEDIATE
    among them), and on PostgreSQL the round trips psycopg makes besides them: BEGIN and COMMIT of each transaction,
    and the pool's pre-ping at each checkout."""

    def __init__(self, engine: Engine) -> None:
        self.statements: Counter[str] = Counter()
        self.transactions = 0
        self.checkouts = 0
        self.postgres = engine.dialect.name == "postgresql"
        self.pre_ping = bool(getattr(engine.pool, "_pre_ping", False))
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine.pool, "checkout", self._checkout)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements[" ".join(statement.split()[:4])] += 1

    def _commit(self, _conn: Any) -> None:
        self.transactions += 1

    def _checkout(self, *_args: Any) -> None:
        self.checkouts += 1

    def per_message(self, sent: int) -> dict[str, float]:
        statements = sum(self.statements.values())
        trips = statements
        if self.postgres:
            trips += 2 * self.transactions + (self.checkouts if self.pre_ping else 0)
        return {
            "statements": round(statements / max(sent, 1), 2),
            "transactions": round(self.transactions / max(sent, 1), 2),
            "round_trips": round(trips / max(sent, 1), 2),
        }


def sender_child(
    database: str, url: str, rate: float, keys: tuple[str, str], ready: Any, go: Any, results: Any
) -> None:
    """One sender process: build the outbox, wait for the start signal, drain, report."""
    settings = settings_for(database, url, rate, keys=keys)
    store = Store(settings.database_url)
    outbox = make_outbox(settings, store, "bench", optouts)
    counter = StatementCounter(store.engine)
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(5):
            samples.append(rss_mb())

    ready.set()
    go.wait()
    rss_start = rss_mb()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start, cpu = time.perf_counter(), time.process_time()
    report = outbox.drain()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    done.set()
    sent = sum(report.sent.values())
    store.close()
    results.put(
        {
            "sent": sent,
            "elapsed_s": elapsed,
            "per_message": {**counter.per_message(sent), "cpu_ms": round(1000 * cpu / max(sent, 1), 2)},
            "top_statements": counter.statements.most_common(8),
            "rss_start_mb": round(rss_start, 1),
            "rss_first_sample_mb": round(samples[0], 1) if samples else None,
            "rss_end_mb": round(rss_mb(), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    )


def clean_run(database: str, messages: int, rate: float, senders: int = 1) -> dict[str, Any]:
    """`senders` processes drain one outbox, each paced at `rate` (sending.per_second is per sender process, so a
    provider limit of L shared by N senders is configured as L/N each); the limit they share is senders * rate."""
    context = multiprocessing.get_context("spawn")
    with gateway_process() as url:
        keys = new_keys()
        settings = settings_for(database, url, rate, keys=keys)
        upgrade(settings.database_url)
        store = Store(settings.database_url)
        fill(store, PhoneVault.from_settings(settings), messages)
        store.close()
        results = context.Queue()
        go = context.Event()
        readies = [context.Event() for _ in range(senders)]
        children = [
            context.Process(target=sender_child, args=(database, url, rate, keys, ready, go, results))
            for ready in readies
        ]
        for child in children:
            child.start()
        for ready in readies:
            ready.wait(120)
        go.set()
        reports = [results.get(timeout=3600) for _ in children]
        for child in children:
            child.join(60)
        stats = gateway_stats(url)
    sent = sum(report["sent"] for report in reports)
    elapsed = max(report["elapsed_s"] for report in reports)
    limit = rate * senders
    return {
        "senders": senders,
        "limit_per_s": limit,
        "sent": sent,
        "elapsed_s": round(elapsed, 1),
        "achieved_per_s": round(sent / elapsed, 2),
        "ratio_to_limit": round(sent / elapsed / limit, 3),
        "duplicates": sum(1 for count in stats["per_number"].values() if count > 1),
        "numbers_at_gateway": len(stats["per_number"]),
        "max_in_any_1s_window": max_in_any_window(stats["arrivals"]),
        "per_message": reports[0]["per_message"],
        "top_statements": reports[0]["top_statements"],
        "rss_mb": [(r["rss_start_mb"], r["rss_first_sample_mb"], r["rss_end_mb"]) for r in reports],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in reports),
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


@contextmanager
def fresh_database(folder: Path, postgres: str | None, name: str) -> Iterator[str]:
    """A new empty database: a SQLite file in `folder`, or a PostgreSQL database created through the admin URL
    (the test cluster's: scripts/test-postgres dsn) and dropped afterwards."""
    if postgres is None:
        yield f"sqlite:///{folder / (name + '.db')}"
        return
    database = f"outreach_bench_send_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        yield make_url(postgres).set(drivername="postgresql+psycopg", database=database).render_as_string(False)
    finally:
        with psycopg.connect(postgres, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run by achieved rate, with every run's rate and worst second beside it."""
    ordered = sorted(runs, key=lambda run: run["achieved_per_s"])
    return {
        **ordered[len(ordered) // 2],
        "runs_ratio_to_limit": [run["ratio_to_limit"] for run in runs],
        "runs_max_in_any_1s_window": [run["max_in_any_1s_window"] for run in runs],
        "runs_duplicates": [run["duplicates"] for run in runs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0, help="sending.per_second of each sender process")
    parser.add_argument("--fault-messages", type=int, default=2_000)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="run on PostgreSQL: a fresh database per run")
    parser.add_argument(
        "--senders", default=None, help="comma-separated sender counts (default: 1 on SQLite, 1,2 on PostgreSQL)"
    )
    parser.add_argument("--runs", type=int, default=1, help="runs of each; the median is printed")
    args = parser.parse_args()
    senders = [int(n) for n in (args.senders or ("1,2" if args.postgres else "1")).split(",")]
    with tempfile.TemporaryDirectory(prefix="outreach-bench-send-") as folder:
        for count in senders if args.messages else []:  # --messages 0: the fault run only
            runs = []
            for number in range(args.runs):
                with fresh_database(Path(folder), args.postgres, f"clean-{count}-{number}") as database:
                    runs.append(clean_run(database, args.messages, args.rate, count))
                print(f"clean run, {count} sender(s), run {number + 1}:", json.dumps(runs[-1]), flush=True)
            print(f"clean, {count} sender(s), median of {len(runs)}:", json.dumps(summary(runs)), flush=True)
        if args.fault_messages:
            with fresh_database(Path(folder), args.postgres, "faults") as database:
                print("fault run:", fault_run(database, args.fault_messages, args.rate), flush=True)


if __name__ == "__main__":
    main()
