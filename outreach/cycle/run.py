"""One cycle: crawl -> select -> compose and enqueue -> drain the outbox -> refresh delivery states.

A plain function made of small steps; the scheduler and the CLI only call it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crawler.sites import load_sites
from messaging.language import make_detector
from messaging.language.protocol import LanguageDetector
from messaging.outbox.drain import DrainReport, Stop
from messaging.outbox.factory import make_outbox
from messaging.template_check import require_templates_pass
from messaging.templates import TemplateBook
from outreach import audit
from outreach.audit_events import Event
from outreach.crypto import PhoneVault
from outreach.cycle.crawl import run_crawl
from outreach.errors import ConfigError
from outreach.people import optouts
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.states import CrawlRunStatus
from outreach.store.types import utcnow
from outreach.targeting.contact_pass import first_contact_templates, select_and_queue
from outreach.targeting.selection import mark_still_queued


@dataclass
class CycleReport:
    run_id: int
    crawl_ok: bool
    crawl_error: str | None
    log_file: Path
    crawl_health: CrawlRunStatus = CrawlRunStatus.OK  # the worst site's crawl (crawler/health.py)
    crawl_problems: list[str] = field(default_factory=list)  # "site: message", for the cycle's table
    adverts_seen: int = 0
    adverts_new: int = 0
    adverts_with_phone: int = 0
    eligible: int = 0
    queued: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    unknown: int = 0  # left in doubt at the end of the run
    reconciled_sent: int = 0  # in doubt, then found sent at the provider
    cancelled: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    dry_run: bool = False
    mode: str = "auto"
    drafts: int = 0  # waiting for `outreach approve` or `outreach assist`
    reminders: int = 0  # reminders queued (or drafted)
    not_messaged: Counter[str] = field(default_factory=Counter)  # adverts (per person) by reason
    send_stopped: Stop | None = None  # the first drain's that stopped early
    send_stopped_by: dict[str, Stop] = field(default_factory=dict)  # a cycle of named organisations: whose, and why
    send_failure: str = ""  # set when sending failed (the provider keeps failing): the run is not ok

    @property
    def sent_total(self) -> int:
        return sum(self.sent.values()) + self.reconciled_sent

    @property
    def ok(self) -> bool:
        return self.crawl_ok and not self.send_failure

    @property
    def problem(self) -> str:
        """One line on what went wrong ("" when nothing did)."""
        if not self.crawl_ok:
            return f"crawl failed: {self.crawl_error}"
        return f"sending failed: {self.send_failure}" if self.send_failure else ""


def check_configuration(
    settings: Settings, sites: list[str] | None = None, organisations: Sequence[str] | None = None
) -> TemplateBook:
    """What would stop a cycle, found before anything runs: keys, templates (`outreach templates check`), site
    files, the organisations of the cycle."""
    for key in organisations or ():
        settings.require_organisation(key)
    PhoneVault.from_settings(settings)
    require_templates_pass(settings)
    templates = first_contact_templates(settings)
    enabled = load_sites(settings.sites_dir)
    if sites:
        unknown = set(sites) - {site.name for site in enabled}
        if unknown:
            raise ConfigError(f"unknown or disabled site: {', '.join(sorted(unknown))}")
    elif not enabled:
        raise ConfigError(f"sites_dir: no enabled site in {settings.sites_dir}")
    return templates


def run_cycle(
    settings: Settings,
    *,
    actor: str,
    dry_run: bool | None = None,
    sites: list[str] | None = None,
    stop: threading.Event | None = None,
    organisations: Sequence[str] | None = None,
    detector: LanguageDetector | None = None,
    store: Store | None = None,
) -> CycleReport:
    """stop: set by a SIGTERM handler; the crawl child is asked to stop and sending ends after the current message.

    organisations: with several organisations, a cycle of these (the scheduler's job for the organisations on one
    schedule, or `outreach cycle --organisation KEY`): one crawl and one selection, but only their messages are
    queued, and each one's are sent by its own drain, within its own send window, one organisation after the
    other. None (or none named): every organisation's messages, in one drain within the shared window.

    detector: the language detector to use (the scheduler keeps one between cycles); None: load the configured one.

    store: the database's Store (the scheduler keeps one between cycles, outreach/cycle/stores.py); None: one of its
    own, closed at the end."""
    dry = settings.dry_run if dry_run is None else dry_run
    mode = settings.sending.mode
    # Each organisation once, in the order given; none given (an empty list): every organisation's, as None.
    units = list(dict.fromkeys(organisations or ()))
    templates = check_configuration(settings, sites, units)
    detector = detector or make_detector(settings)
    own_store = store is None
    store = store or Store(settings.database_url)
    # A sender misconfiguration stops the cycle here too. One outbox per organisation (its window and pace), on one
    # set of channels, closed by the first (also when making a later one fails).
    outboxes = [make_outbox(settings, store, actor, optouts, dry, stop, organisation=units[0] if units else None)]
    of_organisations = {"organisations": units} if units else {}
    try:
        outboxes += [
            make_outbox(settings, store, actor, optouts, dry, stop, organisation=key, channels=outboxes[0].channels)
            for key in units[1:]
        ]
        with store.session() as session:
            audit.record(session, Event.CYCLE_STARTED, actor, dry_run=dry, mode=mode, **of_organisations)
        crawl = run_crawl(settings, store, actor, sites, stop)
        report = CycleReport(
            run_id=crawl.run_id,
            crawl_ok=crawl.ok,
            crawl_error=crawl.error,
            log_file=crawl.log_file,
            crawl_health=crawl.health,
            crawl_problems=[
                f"{name}: {problem.get('message')}"
                for name, site in sorted(crawl.stats.items())
                if isinstance(site, dict)
                for problem in site.get("problems", [])
                if isinstance(problem, dict)
            ],
            adverts_seen=crawl.total("adverts_seen"),
            adverts_new=crawl.total("adverts_new"),
            adverts_with_phone=crawl.total("adverts_with_phone"),
            dry_run=dry,
            mode=mode,
        )
        queued = select_and_queue(
            store,
            settings,
            now=utcnow(),
            actor=actor,
            detector=detector,
            templates=templates,
            organisations=units or None,
        )
        report.eligible, report.queued = queued.eligible, queued.first_contacts
        report.reminders, report.not_messaged = queued.reminders, queued.reasons
        if mode != "auto":
            report.drafts = sum(report.queued.values()) + report.reminders
        for outbox in outboxes:
            drained = outbox.drain()  # in approve and assist modes only what people released is queued
            _add_drain(report, drained, outbox.organisation if len(outboxes) > 1 else None)
            if drained.stopped is not None and outbox.organisation is not None:
                report.send_stopped_by[outbox.organisation] = drained.stopped
            with store.session() as session:
                mark_still_queued(session, drained.stopped, outbox.organisation)
        report.statuses = outboxes[0].refresh_statuses()  # every sent message's, whichever organisation's
        with store.session() as session:
            audit.record(
                session,
                Event.CYCLE_FINISHED,
                actor,
                **of_organisations,
                run_id=crawl.run_id,
                crawl_ok=crawl.ok,
                queued=sum(report.queued.values()),
                sent=report.sent_total,
                failed=report.failed,
                send_failure=report.send_failure or None,
                **({"stopped": {key: why.value for key, why in report.send_stopped_by.items()}} if units else {}),
            )
        return report
    finally:
        outboxes[0].close()  # the channels, which every outbox of the cycle shares
        if own_store:
            store.close()


def _add_drain(report: CycleReport, drained: DrainReport, organisation: str | None) -> None:
    """One drain's counts added to the cycle's; organisation: whose drain, named in a failure (several drains)."""
    report.sent.update(drained.sent)
    report.failed += drained.failed
    report.unknown += drained.unknown
    report.cancelled += drained.cancelled
    report.reconciled_sent += drained.reconciled_sent
    report.send_stopped = report.send_stopped or drained.stopped
    if drained.failed_run:
        failure = f"{organisation + ': ' if organisation else ''}{drained.detail} ({drained.left_queued} waiting)"
        report.send_failure = "; ".join(filter(None, [report.send_failure, failure]))
