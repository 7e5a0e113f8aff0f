"""Benchmark: the national scale on PostgreSQL: 25 organisations, 8 sites, 10,000 to 200,000 live adverts with a
year of history (bench/national_world.py), and what the daily work costs at each size.

    .venv/bin/python -m bench.national [--sizes 10000,50000] [--large] [--runs 3] [--round] [--json FILE]

--large adds 200,000 live adverts (about 15 minutes more). --round adds a scheduler's round for the 25 organisations
on one schedule, the whole cycle (run_cycle: a crawl child of a fixture site of 50 adverts on 127.0.0.1, the
selection, compose, a dry-run drain per organisation), each round undone after: before, 25 cycles of one
organisation each (what one job per organisation ran); after, one cycle for all 25 (their one shared job). About 7
minutes more at 10,000 with --runs 3 (78 crawls).

Per size, on a fresh database (127.0.0.1:5432, as bench/dashboard.py): one cycle's selection (select_contacts) and
its compose (queue_selection: every first contact and reminder queued, one transaction each, and every advert's
reason stored), each run undone before the next; the retention purge (in a transaction rolled back, so every run has
the same work); `outreach audit verify` (the whole chain; it records a checkpoint) and, after a day's worth of new
events (a year's chain / 365), `outreach audit verify --since-checkpoint` and the dashboard's /audit page, which
walk only those; `outreach stats` (the CLI in-process, its start-up left out); the dashboard's overview and contact
log through the real app (as bench/dashboard.py: an umbrella supervisor sees the country, a fieldworker one
organisation), and the overview's count itself for both; the database's size. Medians of --runs, and the ratio to
the previous size.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from bench.dashboard import PASSWORD, database
from bench.national_world import generate, world_config
from messaging.language import LanguageDetector, make_detector
from messaging.templates import TemplateBook
from outreach import audit
from outreach.access.users import add_user
from outreach.audit_events import Event
from outreach.crypto import new_keys
from outreach.people.privacy import purge
from outreach.settings import Settings, load_settings
from outreach.store.db import Store, upgrade
from outreach.store.models import AuditEvent, CrawlRun, Message, Person
from outreach.store.types import utcnow
from outreach.targeting.contact_pass import first_contact_templates, queue_selection
from outreach.targeting.selection import select_contacts, store_decisions
from testworld.fixture_site import FixtureSite

TABLES = ("audit_events", "messages", "persons", "adverts", "advert_reasons", "advert_persons")


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


class Run:
    def __init__(self, settings: Settings, store: Store, config: Path, runs: int) -> None:
        self.settings, self.store, self.config, self.runs = settings, store, config, runs
        self.seconds: dict[str, list[float]] = {}
        self.facts: dict[str, Any] = {}

    def note(self, name: str, seconds: float) -> None:
        self.seconds.setdefault(name, []).append(seconds)

    @contextmanager
    def undone(self) -> Iterator[None]:
        """What cycles in the block change put back after it: the contact decisions, the outbox rows and the audit
        events they add (a person the block's crawl added: never contacted)."""
        with self.store.session() as session:
            before = {
                row.id: row for row in session.execute(select(Person.id, Person.last_contacted_at, Person.reminded_at))
            }
            last_message = session.execute(select(Message.id).order_by(Message.id.desc()).limit(1)).scalar_one()
            last_event = session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        yield
        with self.store.session() as session:
            contacted = set(session.execute(select(Message.person_id).where(Message.id > last_message)).scalars())
            session.execute(delete(Message).where(Message.id > last_message))
            session.execute(delete(AuditEvent).where(AuditEvent.seq > last_event))
            for person_id in contacted - {None}:
                old = before.get(person_id)
                session.execute(
                    update(Person)
                    .where(Person.id == person_id)
                    .values(last_contacted_at=old and old.last_contacted_at, reminded_at=old and old.reminded_at)
                )

    def cycle(self) -> None:
        """One cycle's selection and compose, as select_and_queue runs them (all organisations), undone after."""
        detector, templates = make_detector(self.settings), first_contact_templates(self.settings)
        for _ in range(self.runs):
            with self.undone():
                self.one_cycle(detector, templates)

    def round(self, settings: Settings) -> None:
        """A scheduler's round for the 25 organisations on one schedule, each undone after: 25 cycles of one
        organisation (before: a job each) and one cycle of all 25 (after: their one shared job), in turns. settings:
        the world's, with a fixture site's file in sites_dir, dry run. The crawls' share is their runs' own times
        (crawl_runs: from the run's row to the child's end)."""
        from outreach.cycle.run import CycleReport, run_cycle

        keys = [unit.key for unit in settings.organisations]
        detector = make_detector(settings)

        def cycle(organisations: list[str]) -> CycleReport:
            report = run_cycle(
                settings, actor="bench", organisations=organisations, detector=detector, store=self.store
            )
            assert report.crawl_ok, report.crawl_error
            return report

        with self.undone():  # the fixture's adverts crawled once first, as in any round after the first
            first = cycle(keys)
        assert first.adverts_seen, "the fixture site was not crawled"
        self.facts["round: the fixture's adverts (first crawl), of them new"] = [first.adverts_seen, first.adverts_new]
        for _ in range(self.runs):
            for name, groups in (("before: 25 cycles", [[key] for key in keys]), ("after: one cycle", [keys])):
                first_crawl = self.last_crawl()
                with self.undone():
                    started = time.perf_counter()
                    reports = [cycle(group) for group in groups]
                    self.note(f"round of 25 organisations, {name}", time.perf_counter() - started)
                with self.store.session() as session:
                    crawls = session.execute(
                        select(CrawlRun.started_at, CrawlRun.finished_at).where(CrawlRun.id > first_crawl)
                    ).all()
                crawling = 0.0
                for begun, ended in crawls:
                    assert ended is not None  # run_crawl records the end before it returns
                    crawling += (ended - begun).total_seconds()
                self.note(f"round of 25 organisations, {name}: of which crawling", crawling)
                self.facts[f"round, {name}: crawls, adverts seen, messages queued, sent (dry run)"] = [
                    len(crawls),
                    sum(report.adverts_seen for report in reports),
                    sum(sum(report.queued.values()) + report.reminders for report in reports),
                    sum(report.sent_total for report in reports),
                ]

    def last_crawl(self) -> int:
        with self.store.session() as session:
            return int(session.execute(select(func.coalesce(func.max(CrawlRun.id), 0))).scalar_one())

    def one_cycle(self, detector: LanguageDetector, templates: TemplateBook) -> None:
        now = utcnow()
        started = time.perf_counter()
        with self.store.session() as session:
            selection = select_contacts(session, self.settings, now=now, actor="bench")
        self.note("cycle: selection", time.perf_counter() - started)
        started = time.perf_counter()
        queued = queue_selection(
            selection,
            self.store.session,
            settings=self.settings,
            detector=detector,
            templates=templates,
            now=now,
            actor="bench",
            draft=False,
        )
        self.note("cycle: compose", time.perf_counter() - started)
        self.facts["cycle decisions"] = len(selection.decisions)
        self.facts["cycle queued"] = sum(queued.first_contacts.values()) + queued.reminders
        self.facts["cycle reasons"] = dict(queued.reasons.most_common())

    def purge(self) -> None:
        for _ in range(self.runs):
            with Session(self.store.engine) as session:
                seconds, report = timed(lambda: purge(session, self.settings.retention, utcnow(), "bench"))
                session.rollback()
            self.note("purge", seconds)
            self.facts["purge deletes"] = asdict(report)

    def cli(self, name: str, args: list[str]) -> None:
        from typer.testing import CliRunner

        from outreach.cli import app

        for _ in range(self.runs):
            seconds, result = timed(lambda: CliRunner().invoke(app, [*args, "--config", str(self.config)]))
            assert result.exit_code == 0, result.output
            self.note(name, seconds)
        self.facts[name] = result.output.strip().splitlines()[0][:80] if result.output.strip() else ""

    def verify_memory(self) -> None:
        """`outreach audit verify` as its own process, once: its peak memory, as GNU time measures it (the
        benchmark's own getrusage would count the child's copy of this large process before exec)."""
        command = [sys.executable, "-m", "outreach", "audit", "verify", "--config", str(self.config)]
        timer = shutil.which("time", path="/usr/bin")
        if timer is None:
            return
        done = subprocess.run([timer, "-f", "%M", *command], check=True, capture_output=True, text=True)
        self.facts["audit verify peak RSS MB"] = int(done.stderr.strip().splitlines()[-1]) // 1024

    def overview_count(self) -> None:
        """The overview's count itself (its first view, and each recount a minute later): the page serves the last
        count (outreach/web/dashboard/recent_figures.py), so its own time says little about counting."""
        from outreach.access.roles import visible_organisations, visible_regions
        from outreach.web.dashboard.overview import count_figures

        zone = self.settings.sending.timezone
        for user, who in (("bob", "supervisor"), ("fieldworker01", "fieldworker")):
            organisations = visible_organisations(self.settings, user)
            regions = visible_regions(self.settings, organisations)
            for run in range(self.runs + 1):  # the first warms the database's cache
                with self.store.session() as session:
                    started = time.perf_counter()
                    count_figures(session, utcnow(), zone, organisations=organisations, regions=regions)
                    if run:
                        self.note(f"overview count, cold ({who})", time.perf_counter() - started)

    def day_of_events(self, chained: int) -> None:
        """What the chain gains in a day, appended after the last full verification's checkpoint: the /audit page
        and `audit verify --since-checkpoint` then walk what they would walk just before the next daily verify."""
        with self.store.session() as session:
            for index in range(max(chained // 365, 1)):
                audit.record(session, Event.SENDING_RESUMED, "bench", index=index)
        self.facts["events after the checkpoint"] = max(chained // 365, 1)

    def dashboard(self) -> None:
        from starlette.testclient import TestClient

        from outreach.web.app import create_app
        from tests.dashboard_world import csrf_of

        with self.store.session() as session:
            add_user(session, "bob", "supervisor", PASSWORD, actor="bench")  # an umbrella supervisor: the country
            add_user(session, "fieldworker01", "fieldworker", PASSWORD, actor="bench")  # one organisation
        for user in ("bob", "fieldworker01"):
            with TestClient(create_app(self.settings), base_url="https://testserver", follow_redirects=False) as client:
                login = client.get("/login")
                answer = client.post("/login", data={"csrf": csrf_of(login.text), "name": user, "password": PASSWORD})
                assert answer.status_code == 303, answer.status_code
                who = "supervisor" if user == "bob" else "fieldworker"
                pages = {
                    f"overview ({who})": ("/", {}),
                    f"contact log ({who})": ("/log", {}),
                    f"contact log page 40 ({who})": ("/log", {"page": "40"}),
                    f"contact log, one region ({who})": ("/log", {"region": "Groningen"}),
                }
                if user == "bob":  # the audit page walks the chain after the last checkpoint: once
                    started = time.perf_counter()
                    assert client.get("/audit").status_code == 200
                    self.note("audit page (supervisor, once)", time.perf_counter() - started)
                for name, (path, params) in pages.items():
                    client.get(path, params=params)  # warm: templates, the pool, the database's cache
                    for _ in range(self.runs):
                        started = time.perf_counter()
                        page = client.get(path, params=params)
                        self.note(name, time.perf_counter() - started)
                        assert page.status_code == 200, (name, page.status_code)

    def sizes(self) -> None:
        with self.store.engine.connect() as conn:
            self.facts["database MB"] = round(
                conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one() / 2**20, 1
            )
            for table in TABLES:
                size = conn.execute(text("SELECT pg_total_relation_size(:t)"), {"t": table}).scalar_one()
                self.facts[f"{table} MB"] = round(size / 2**20, 1)


def fixture_overrides(folder: str) -> dict[str, Any]:
    """The world's settings crawling the fixture site's file in `folder`, sending in dry run (as the test world
    sends: any hour, 100 a second)."""
    from testworld.policy import WORLD_SENDING

    return {
        "sites_dir": Path(folder) / "sites",
        "log_dir": Path(folder) / "log",
        "dry_run": True,
        "sending": WORLD_SENDING,
    }


def measure(size: int, runs: int, round_of_organisations: bool = False) -> dict[str, Any]:
    with database("postgresql") as url, tempfile.TemporaryDirectory() as folder:
        hmac_key, fernet_key = new_keys()
        settings = load_settings(**world_config(url, hmac_key, fernet_key))
        config = Path(folder) / "outreach.yaml"
        config.touch(mode=0o600)
        config.write_text(yaml.safe_dump({**world_config(url, hmac_key, fernet_key), "actor": "bob"}), encoding="utf-8")
        upgrade(url)
        generating, counts = timed(lambda: generate(url, settings, size))
        store = Store(url)
        run = Run(settings, store, config, runs)
        try:
            # A cycle first, untimed: the reasons of every advert stored, as after any earlier cycle.
            with store.session() as session:
                store_decisions(session, select_contacts(session, settings, now=utcnow()).decisions, utcnow())
            run.cycle()
            if round_of_organisations:
                with FixtureSite(seed=21, count=50) as site:
                    site.write_site_file(Path(folder) / "sites")
                    run.round(load_settings(**world_config(url, hmac_key, fernet_key), **fixture_overrides(folder)))
            run.purge()
            run.cli("audit verify", ["audit", "verify"])
            run.verify_memory()
            run.day_of_events(counts.audit_events)
            run.cli("audit verify --since-checkpoint", ["audit", "verify", "--since-checkpoint"])
            run.cli("stats (30 days)", ["stats"])
            run.cli("stats --by region --since 365d", ["stats", "--by", "region", "--since", "365d"])
            run.dashboard()
            run.overview_count()
            run.sizes()
            run.facts["load average (1, 5, 15 min) at the end"] = [round(load, 1) for load in os.getloadavg()]
        finally:
            store.close()
    return {
        "live adverts": size,
        "generate seconds": round(generating, 1),
        "world": asdict(counts),
        "median seconds": {name: round(statistics.median(times), 3) for name, times in run.seconds.items()},
        "facts": run.facts,
    }


def print_table(results: list[dict[str, Any]]) -> None:
    names = list(results[0]["median seconds"])
    header = "| operation | " + " | ".join(f"{r['live adverts']:,}" for r in results) + " | ratios |"
    print(header)
    print("|" + "---|" * (len(results) + 2))
    for name in [*names, "database MB"]:
        values = [r["median seconds"].get(name, r["facts"].get(name)) for r in results]
        ratios = ", ".join(f"{b / a:.1f}x" for a, b in itertools.pairwise(values) if a)
        cells = " | ".join(f"{v:.3f} s" if name != "database MB" else f"{v} MB" for v in values)
        print(f"| {name} | {cells} | {ratios} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,50000", help="live adverts per world, comma-separated")
    parser.add_argument("--large", action="store_true", help="add 200,000 live adverts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--round", action="store_true", help="add a round of the 25 organisations on one schedule, before and after"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")] + ([200_000] if args.large else [])
    results = []
    for size in sizes:
        result = measure(size, args.runs, args.round)
        print(json.dumps(result, indent=2), flush=True)
        results.append(result)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
