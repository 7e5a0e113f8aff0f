"""Faults everywhere at once: the Twilio test gateway fails 20% of creates (5xx before and after accepting, 429,
timeouts after accepting) and the fixture site answers bursts of 429 and 503 and serves malformed pages. Cycles
run until the outbox is empty; then every eligible person has exactly one message, and every fault is on record
with what it was: each message left in doubt has an audit event with its reason and was reconciled the way the
gateway knows is right, each 429 retry is counted on its send, and each 429/503 the site answered is in the crawl
run's statistics."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from outreach.cycle.run import run_cycle
from outreach.store.db import Store
from outreach.store.models import AuditEvent, CrawlRun
from tests.process_world import fast_world_settings, outbound_states
from testworld.fixture_site import Fault, FixtureSite
from testworld.policy import WORLD_SENDING
from testworld.twilio_gateway import Faults, TwilioGateway

MAX_CYCLES = 6


def _events(store: Store, name: str) -> list[dict[str, Any]]:
    with store.session() as session:
        return list(session.execute(select(AuditEvent.fields).where(AuditEvent.name == name)).scalars())


@pytest.mark.slow
def test_under_gateway_and_site_faults_every_eligible_person_gets_one_message_and_every_fault_is_recorded(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    gateway.callbacks = "none"
    gateway.faults = Faults(rate=0.2, kinds=("500_before", "500_after", "429", "timeout_after"), seed=24,
                            hang_seconds=1.5)  # fmt: skip
    with FixtureSite(seed=12, count=60) as site:
        ads = site.generated.adverts
        settings = fast_world_settings(
            database_url,
            keys,
            tmp_path,
            site,
            gateway,
            twilio={**gateway.twilio_settings(), "timeout_seconds": 1},
            sending={**WORLD_SENDING, "retry_max_seconds": 0.2},
        )
        site.write_site_file(tmp_path / "sites", backoff={"base_seconds": 0.05, "cap_seconds": 0.5})
        # Listing: a burst of 429s, then a page cut off in the middle (half its adverts and the next link lost).
        site.add_fault(Fault("429", path_prefix="/advertenties", times=2, retry_after="0"))
        malformed = [site.add_fault(Fault("malformed", path_prefix="/advertenties", times=1))]
        # Detail pages: three that are always broken, a burst of 503s, a 429 with Retry-After.
        broken = {ad.id for ad in ads[3:6]}
        for ad in ads[3:6]:
            malformed.append(site.add_fault(Fault("malformed", path_prefix=ad.path, times=1000)))
        site.add_fault(Fault("503", path_prefix="/advertentie/", times=3))
        site.add_fault(Fault("429", path_prefix="/advertentie/", times=2, retry_after="1"))

        countries = set(settings.mobile_countries)
        expected = site.generated.eligible(countries, [ad for ad in ads if ad.id not in broken])
        allowed = site.generated.eligible(countries)  # a broken page may still show its number
        with Store(settings.database_url) as store:
            cycles = 0
            while cycles < MAX_CYCLES:
                report = run_cycle(settings, actor="scheduler")
                cycles += 1
                assert report.crawl_ok, report.crawl_error
                states = outbound_states(store)
                if set(expected) <= set(gateway.sent_to()) and set(states) <= {"sent", "delivered"}:
                    break
            else:
                raise AssertionError(f"still not done after {MAX_CYCLES} cycles: {states}")

            sent = {number: len(messages) for number, messages in gateway.sent_to().items()}
            assert {n: c for n, c in sent.items() if c > 1} == {}
            assert set(expected) <= set(sent) <= set(allowed)

            injected = dict(gateway.faults.injected)
            in_doubt = injected.get("500_before", 0) + injected.get("500_after", 0) + injected.get("timeout_after", 0)
            assert in_doubt >= 5 and injected.get("429", 0) >= 2, injected  # the seed really injects each kind
            unknown = _events(store, "message.unknown")
            assert len(unknown) == in_doubt and all(event["reason"] for event in unknown), unknown
            reconciled = [event["result"] for event in _events(store, "message.reconciled")]
            accepted = injected.get("500_after", 0) + injected.get("timeout_after", 0)
            assert sorted(reconciled) == sorted(["sent"] * accepted + ["queued"] * injected.get("500_before", 0))
            assert sum(event["rate_limited"] for event in _events(store, "message.sent")) == injected["429"]

            with store.session() as session:
                runs = list(session.execute(select(CrawlRun.stats, CrawlRun.status)).all())
            assert {status for _, status in runs} == {"ok"}
            for code in (429, 503):
                served = sum(1 for request in site.requests if request.status == code)
                recorded = sum(stats["fixture"].get(f"politeness/overloaded/{code}", 0) for stats, _ in runs)
                assert recorded == served > 0, code
        served_malformed = 1 + sum(1000 - fault.times for fault in malformed[1:])
        overloaded = Counter(request.status for request in site.requests if request.status in (429, 503))
    print(
        f"\nfaults on {database_url.split(':')[0]}: gateway {injected}; site {dict(overloaded)} and {served_malformed} "
        f"malformed pages; {len(sent)} persons messaged, 0 twice; {cycles} cycles"
    )
