"""A day of the scheduler: the real `outreach scheduler` process runs cycles back to back on a short interval
against the fixture site (adverts appearing and disappearing between cycles, every crawl a full listing walk so
the gone ones are marked) and the test gateway (status callbacks and replies arriving at our webhooks), on SQLite
and on PostgreSQL. Per cycle it samples what would pile up in a process that runs for months:

- the scheduler's RSS after the cycle (VmRSS) and its peak so far (VmHWM), its threads and open file descriptors;
- the crawl child's peak RSS (VmHWM, read every 0.1 s while it runs);
- on PostgreSQL, the connections to the bench database by application name (the scheduler's, including its crawl
  child's, and the webhook server's);
- the cycle's wall time, from the `cycle` heartbeat's started_at and finished_at.

    .venv/bin/python -m bench.scheduler_day                     # 20 cycles every 8 s on each database
    .venv/bin/python -m bench.scheduler_day --cycles 48         # the day: 48 cycles on each
    .venv/bin/python -m bench.scheduler_day --database sqlite --cycles 48

The fixture site, the gateway and the webhook server run in this process, as the provider and `outreach serve`
would run elsewhere; only the scheduler and its crawl children are measured. PostgreSQL: the admin URL comes from
--postgres, else OUTREACH_TEST_POSTGRES, else `scripts/test-postgres dsn` (`make services` starts it); a bench
database is created and dropped. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.traced_scheduler import MALLOC_DEBUG
from outreach.crypto import new_keys
from outreach.settings import Settings, load_settings
from outreach.store.db import PROJECT_ROOT, Store, upgrade
from outreach.store.models import Heartbeat
from testworld.fixture_site import FixtureSite
from testworld.policy import world_overrides
from testworld.simulated_people import SCRIPT
from testworld.twilio_gateway import TwilioGateway
from testworld.web_server import UvicornThread, free_port

SCHEDULER_APP = "outreach-scheduler"  # PostgreSQL application_name of the scheduler and its crawl children
WEB_APP = "outreach-bench-web"
STALLED_SECONDS = 300


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (kB) and Threads of a process; {} once it is gone."""
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                values[key] = int(rest.split()[0])
    except (OSError, ValueError):
        return {}
    return values


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def children(pid: int) -> list[int]:
    """Children of every thread of the process (the scheduler starts its crawl child from a job thread)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return found


def is_crawler(pid: int) -> bool:
    try:
        return b"crawler" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False


@dataclass
class CycleSample:
    number: int
    wall: float  # seconds from cycle.started to cycle.finished
    start_gap: float  # seconds since the previous cycle started (0 for the first)
    sent: int
    rss_mb: float  # the scheduler's VmRSS a moment after the cycle
    hwm_mb: float  # the scheduler's VmHWM (peak so far)
    child_peak_mb: float  # the largest crawl child's VmHWM during the cycle
    children: int  # crawl children seen during the cycle
    threads: int
    fds: int
    connections: dict[str, int] = field(default_factory=dict)  # PostgreSQL: application_name -> connections


def slope(values: list[float]) -> float:
    """Least-squares slope per cycle."""
    if len(values) < 2:
        return 0.0
    xs = list(range(len(values)))
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(values)
    num = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=True))
    return num / sum((x - mean_x) ** 2 for x in xs)


class ChildWatch:
    """Peak RSS of the scheduler's children (the crawl children), read every 0.1 s from a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peaks: dict[int, int] = {}  # child pid -> VmHWM kB
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="child-watch", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            for child in children(self.pid):
                if not is_crawler(child):
                    continue  # forked but not yet exec'd: its VmHWM is still the scheduler's
                hwm = proc_status(child).get("VmHWM", 0)
                with self._lock:
                    self.peaks[child] = max(self.peaks.get(child, 0), hwm)

    def take(self) -> dict[int, int]:
        """The peaks seen since the last take."""
        with self._lock:
            peaks, self.peaks = self.peaks, {}
        return peaks

    def __enter__(self) -> ChildWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def postgres_admin(option: str) -> str:
    if option:
        return option
    if os.environ.get("OUTREACH_TEST_POSTGRES"):
        return os.environ["OUTREACH_TEST_POSTGRES"]
    found = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "test-postgres"), "dsn"], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        raise SystemExit("no PostgreSQL: run `make services`, or pass --postgres ADMIN_URL")
    return found.stdout.strip()


class Database:
    """The bench database: a SQLite file, or a PostgreSQL database created for the run and dropped after."""

    def __init__(self, kind: str, folder: Path, admin: str) -> None:
        self.kind = kind
        self.name = f"outreach_day_{secrets.token_hex(4)}"
        self.admin = admin
        if kind == "sqlite":
            self.url = f"sqlite:///{folder / 'day.db'}"
            self.web_url = self.url
            return
        base = make_url(admin).set(drivername="postgresql+psycopg", database=self.name)
        self.url = base.update_query_dict({"application_name": SCHEDULER_APP}).render_as_string(False)
        self.web_url = base.update_query_dict({"application_name": WEB_APP}).render_as_string(False)
        engine = self._admin_engine()
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        finally:
            engine.dispose()

    def _admin_engine(self) -> Any:
        url = make_url(self.admin).set(drivername="postgresql+psycopg")
        return create_engine(url, isolation_level="AUTOCOMMIT")

    def connections(self) -> dict[str, int]:
        if self.kind == "sqlite":
            return {}
        engine = self._admin_engine()
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = :name "
                        "GROUP BY application_name"
                    ),
                    {"name": self.name},
                ).all()
        finally:
            engine.dispose()
        return {str(name): int(count) for name, count in rows}

    def drop(self) -> None:
        if self.kind == "sqlite":
            return
        engine = self._admin_engine()
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        finally:
            engine.dispose()


@dataclass
class DayOptions:
    cycles: int
    interval: int
    adverts: int
    new: int
    gone: int
    replies: int
    trace: Path | None = None  # run the scheduler under bench/traced_scheduler.py, a dump after every cycle
    trim: bool = False  # with trace: malloc_trim(0) after each dump
    mtrace: str = ""  # with trace: "FROM:TO", glibc's malloc trace between those dumps instead of tracemalloc
    light: bool = False  # with trace: no tracemalloc, only the counts
    collect: bool = True  # with trace: gc.collect() before each dump
    garbage: int = 0  # with trace: at that dump, what a full collection frees, by type


def settings_for(folder: Path, url: str, gateway: TwilioGateway, port: int, interval: int) -> Settings:
    hmac_key, fernet_key = new_keys()
    keys = {}
    for name, key in (("hmac", hmac_key), ("fernet", fernet_key)):
        path = folder / f"{name}.key"
        path.write_text(key, encoding="utf-8")
        path.chmod(0o600)
        keys[f"{name}_key_file"] = path
    return load_settings(
        database_url=url,
        **keys,
        **world_overrides(folder, gateway),
        web={"public_url": f"http://127.0.0.1:{port}", "host": "127.0.0.1", "port": port},
        schedule={"cycle_interval_seconds": interval},
    )


def reply_to(gateway: TwilioGateway, webhook: str, messages_before: int, count: int, turn: int) -> int:
    """`count` of the people messaged since `messages_before` write back (texts from the simulated people's
    script, a STOP among them); returns how many webhooks answered 200."""
    recent = [m.to for m in gateway.messages[messages_before:]]  # a slice of a list: atomic under the GIL
    answered = 0
    for index, number in enumerate(dict.fromkeys(recent).keys()):
        if index >= count:
            break
        body = SCRIPT[(turn * count + index) % len(SCRIPT)][3]
        answered += gateway.inbound(webhook, number.removeprefix("whatsapp:"), body) == 200
    return answered


def run_day(kind: str, options: DayOptions, admin: str) -> list[CycleSample]:
    from outreach.web.app import create_app

    folder = Path(tempfile.mkdtemp(prefix=f"outreach-day-{kind}-"))
    # The webhook server's log lines (a notification per reply) go to a file, not between the figures.
    handler = logging.FileHandler(folder / "web.log", encoding="utf-8")
    logging.getLogger().addHandler(handler)
    database = Database(kind, folder, admin)
    port = free_port()
    held_back = options.cycles * options.new
    samples: list[CycleSample] = []
    try:
        with (
            FixtureSite(seed=1, count=options.adverts + held_back) as site,
            TwilioGateway() as gateway,
        ):
            site.hold_back(held_back)
            # Every crawl walks the whole listing, so that withdrawn adverts are marked gone every cycle.
            site.write_site_file(folder / "sites", incremental={"full_walk_hours": 0})
            settings = settings_for(folder, database.url, gateway, port, options.interval)
            upgrade(settings.database_url)
            config = folder / "outreach.yaml"
            config.write_text(settings.for_child(), encoding="utf-8")
            config.chmod(0o600)
            web_settings = settings.model_copy(update={"database_url": database.web_url})
            log = folder / "scheduler.log"
            with (
                UvicornThread(create_app(web_settings), port),
                Store(database.web_url) as store,
                log.open("w", encoding="utf-8") as output,
            ):
                command = ["scheduler", "--config", str(config)]
                if options.trace is not None:
                    traced = options.trace / kind
                    command = [
                        "-m",
                        "bench.traced_scheduler",
                        "run",
                        *(["--trim"] if options.trim else []),
                        *(["--mtrace", options.mtrace] if options.mtrace else []),
                        *(["--light"] if options.light else []),
                        *([] if options.collect else ["--no-collect"]),
                        *(["--garbage", str(options.garbage)] if options.garbage else []),
                        str(traced),
                    ]
                    command += ["--", "scheduler", "--config", str(config)]
                else:
                    command = ["-m", "outreach", *command]
                # mtrace() needs glibc's malloc debugging library loaded from the start.
                preload = {"LD_PRELOAD": MALLOC_DEBUG} if options.mtrace else {}
                scheduler = subprocess.Popen(
                    [sys.executable, *command],
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    cwd=PROJECT_ROOT,
                    env={**os.environ, **preload},
                )
                try:
                    with ChildWatch(scheduler.pid) as watch:
                        samples = _sample_cycles(scheduler, watch, store, database, site, gateway, options, port)
                finally:
                    scheduler.send_signal(signal.SIGTERM)
                    try:
                        scheduler.wait(timeout=120)
                    except subprocess.TimeoutExpired:
                        scheduler.kill()
                        scheduler.wait()
            if scheduler.returncode != 0:
                print(f"  the scheduler exited with {scheduler.returncode}; see {log}")
    finally:
        database.drop()
        logging.getLogger().removeHandler(handler)
        handler.close()
    return samples


def _sample_cycles(
    scheduler: subprocess.Popen[bytes],
    watch: ChildWatch,
    store: Store,
    database: Database,
    site: FixtureSite,
    gateway: TwilioGateway,
    options: DayOptions,
    port: int,
) -> list[CycleSample]:
    samples: list[CycleSample] = []
    last_start = ""
    previous_start: datetime | None = None
    messages_before = 0
    last_cycle = time.monotonic()
    while len(samples) < options.cycles:
        if scheduler.poll() is not None:
            raise SystemExit(f"the scheduler exited with {scheduler.returncode} after {len(samples)} cycles")
        if time.monotonic() - last_cycle > STALLED_SECONDS:
            # A scheduler alive but running no cycle: APScheduler's thread died once on "database is locked".
            raise SystemExit(f"no cycle ended for {STALLED_SECONDS} s after {len(samples)} cycles; see its log")
        time.sleep(0.5)
        # The `cycle` heartbeat: its times have microseconds (the audit events' are whole seconds).
        with store.session() as session:
            beat = session.get(Heartbeat, "cycle")
            state = dict(beat.state) if beat is not None else {}
        started, finished = state.get("started_at"), state.get("finished_at")
        if not started or not finished or started == last_start:
            continue
        last_start, last_cycle = started, time.monotonic()
        if state.get("result") != "ok":
            print(f"  cycle {len(samples) + 1}: {state.get('result')}")
        time.sleep(1.0)  # the scheduler closes the cycle's store right after this beat
        status = proc_status(scheduler.pid)
        peaks = watch.take()
        start = datetime.fromisoformat(started)
        samples.append(
            CycleSample(
                number=len(samples) + 1,
                wall=(datetime.fromisoformat(finished) - start).total_seconds(),
                start_gap=(start - previous_start).total_seconds() if previous_start is not None else 0.0,
                sent=int(state.get("sent") or 0),
                rss_mb=status.get("VmRSS", 0) / 1024,
                hwm_mb=status.get("VmHWM", 0) / 1024,
                child_peak_mb=max(peaks.values(), default=0) / 1024,
                children=len(peaks),
                threads=status.get("Threads", 0),
                fds=open_fds(scheduler.pid),
                connections=database.connections(),
            )
        )
        previous_start = start
        if options.trace is not None:
            traced_dump(scheduler, options.trace / database.kind, len(samples))
        # Between two cycles: the site changes and some of the people just messaged write back.
        site.turn_over(options.new, options.gone, seed=len(samples))
        reply_to(gateway, f"http://127.0.0.1:{port}/twilio/inbound", messages_before, options.replies, len(samples))
        messages_before = len(gateway.messages)
        print(_line(samples[-1]), flush=True)
    return samples


def traced_dump(scheduler: subprocess.Popen[bytes], folder: Path, number: int) -> None:
    """Ask the traced scheduler for its dump after cycle `number` and wait until it is written."""
    scheduler.send_signal(signal.SIGUSR1)
    written = folder / f"{number:03d}.json"
    deadline = time.monotonic() + 120
    while not written.exists() and time.monotonic() < deadline:
        time.sleep(0.2)


def _line(sample: CycleSample) -> str:
    connections = " ".join(f"{name or '-'}={count}" for name, count in sorted(sample.connections.items()))
    return (
        f"  cycle {sample.number:2d}: {sample.wall:5.1f} s (start +{sample.start_gap:4.1f} s), sent {sample.sent:3d}, "
        f"scheduler RSS {sample.rss_mb:5.1f} MB (peak {sample.hwm_mb:5.1f}), crawl child peak "
        f"{sample.child_peak_mb:5.1f} MB, threads {sample.threads}, fds {sample.fds}"
        + (f", connections {connections}" if connections else "")
    )


def summary(kind: str, samples: list[CycleSample]) -> list[str]:
    if not samples:
        return [f"{kind}: no cycle finished"]
    after_first = samples[1:] or samples
    half = samples[len(samples) // 2 :]
    walls = sorted(s.wall for s in after_first)
    lines = [
        f"{kind}: {len(samples)} cycles",
        f"  scheduler RSS: cycle 1 {samples[0].rss_mb:.1f} MB, cycle 2 {after_first[0].rss_mb:.1f} MB, "
        f"last {samples[-1].rss_mb:.1f} MB; slope {slope([s.rss_mb for s in after_first]):+.3f} MB/cycle "
        f"(cycles 2-{len(samples)}), {slope([s.rss_mb for s in half]):+.3f} MB/cycle (second half); "
        f"peak {samples[-1].hwm_mb:.1f} MB",
        f"  crawl child peak RSS: median {statistics.median(s.child_peak_mb for s in samples):.1f} MB, "
        f"max {max(s.child_peak_mb for s in samples):.1f}; slope "
        f"{slope([s.child_peak_mb for s in after_first]):+.3f} MB/cycle (cycles 2-{len(samples)})",
        f"  open fds first/last {samples[0].fds}/{samples[-1].fds} (max {max(s.fds for s in samples)}); "
        f"threads first/last {samples[0].threads}/{samples[-1].threads}",
        f"  cycle wall time (cycles 2-{len(samples)}): median {statistics.median(walls):.2f} s, "
        f"min {walls[0]:.2f}, max {walls[-1]:.2f}; slope {slope([s.wall for s in after_first]):+.4f} s/cycle; "
        f"cycle 1 (every advert new) {samples[0].wall:.2f} s",
        f"  messages sent: {sum(s.sent for s in samples)} (cycle 1: {samples[0].sent})",
    ]
    if samples[0].connections or samples[-1].connections:
        first, last = samples[0].connections, samples[-1].connections
        most = max(sum(s.connections.values()) for s in samples)
        lines.append(f"  PostgreSQL connections first {first}, last {last}, most at once {most}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=20, help="Cycles per database (48: a day of half-hours).")
    parser.add_argument("--interval", type=int, default=8, help="schedule.cycle_interval_seconds.")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--adverts", type=int, default=300, help="Adverts listed at the start.")
    parser.add_argument("--new", type=int, default=4, help="Adverts that appear between two cycles.")
    parser.add_argument("--gone", type=int, default=4, help="Adverts withdrawn between two cycles.")
    parser.add_argument("--replies", type=int, default=2, help="People who write back after each cycle.")
    parser.add_argument("--postgres", default="", help="PostgreSQL admin URL (see above).")
    parser.add_argument(
        "--trace",
        type=Path,
        help="Run the scheduler under tracemalloc (bench/traced_scheduler.py) and have it dump what it holds to "
        "TRACE/DATABASE/NNN.* after every cycle; compare with `python -m bench.traced_scheduler compare`.",
    )
    parser.add_argument("--trim", action="store_true", help="With --trace: malloc_trim(0) after every dump.")
    parser.add_argument(
        "--mtrace",
        default="",
        metavar="FROM:TO",
        help="With --trace: no tracemalloc; glibc's malloc trace of the scheduler from cycle FROM to cycle TO into "
        "TRACE/DATABASE/mtrace.log; read it with `python -m bench.mtrace_report TRACE/DATABASE`.",
    )
    parser.add_argument("--light", action="store_true", help="With --trace: no tracemalloc, only the counts.")
    parser.add_argument("--no-collect", action="store_true", help="With --trace: no gc.collect() before each dump.")
    parser.add_argument("--garbage", type=int, default=0, metavar="N", help="With --trace: at dump N, what gc frees.")
    args = parser.parse_args()
    if args.mtrace and args.trace is None:
        parser.error("--mtrace needs --trace DIR")
    options = DayOptions(
        args.cycles,
        args.interval,
        args.adverts,
        args.new,
        args.gone,
        args.replies,
        args.trace,
        args.trim,
        args.mtrace,
        args.light,
        not args.no_collect,
        args.garbage,
    )
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    admin = postgres_admin(args.postgres) if "postgresql" in kinds else ""
    report: list[str] = []
    for kind in kinds:
        print(f"{kind}: {options.cycles} cycles every {options.interval} s", flush=True)
        report += summary(kind, run_day(kind, options, admin))
    print("\n".join(report))


if __name__ == "__main__":
    main()
