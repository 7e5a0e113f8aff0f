"""Benchmark: one cycle's selection over many listed adverts, with a targeting policy, and storing every reason.

    .venv/bin/python -m bench.selection [--adverts 40000] [--runs 3] [--database URL]

Generated adverts (one person each, a tenth of them with a second advert, cities and categories drawn from the
fixture world, some hold and exclude words); a third of the persons contacted 1-10 days ago. Measures
select_contacts (read everything, judge every advert and person) and store_decisions (replace every reason), the
median of --runs, and peak RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import statistics
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from outreach.crypto import PhoneVault, new_keys
from outreach.settings import load_settings
from outreach.store.adverts import FoundAdvert, FoundPhone, save_adverts, site_id
from outreach.store.db import Store, upgrade
from outreach.store.models import Person
from outreach.store.types import utcnow
from outreach.targeting.selection import select_contacts, store_decisions
from testworld.phrases import CATEGORIES, CITIES

TARGETING = {
    "municipalities": ["Rotterdam", "The Hague", "Schiedam", "Vlaardingen"],
    "categories": ["women", "trans"],
    "keywords": {"exclude": ["bureau"], "hold": ["17 jaar", "mijn baas"]},
}
TEXTS = [
    "Hoi, ik ben nieuw in de stad. Bel voor een afspraak, discreet en gezellig.",
    "Hi, new in town. Call me for an appointment, discreet and friendly.",
    "Via ons bureau: bel voor een afspraak.",
    "Ik ben 17 jaar en nieuw hier.",
    "Mijn baas regelt de afspraken.",
]


def fill(store: Store, vault: PhoneVault, count: int, rng: random.Random) -> None:
    now = utcnow()
    with store.session() as session:
        site = site_id(session, "bench")
        batch: list[FoundAdvert] = []
        for i in range(count):
            person = i if rng.random() > 0.1 else rng.randrange(max(i, 1))
            text = rng.choices(TEXTS, [60, 30, 4, 3, 3])[0]
            batch.append(
                FoundAdvert(
                    site="bench",
                    site_ad_id=f"B{i}",
                    url=f"http://127.0.0.1/b/{i}",
                    title=f"Advert {i}",
                    text=text,
                    city=rng.choice(CITIES),
                    category=rng.choice(CATEGORIES),
                    has_whatsapp=False,
                    content_hash=hashlib.sha256(f"{i}".encode()).hexdigest(),
                    phones=[FoundPhone(f"+316{20_000_000 + person:08d}", "NL", True)],
                )
            )
            if len(batch) == 500:
                save_adverts(session, vault, batch, None, now, site)
                batch = []
        if batch:
            save_adverts(session, vault, batch, None, now, site)
        session.flush()
        for days in range(1, 11):
            session.execute(
                update(Person).where(Person.id % 30 == days).values(last_contacted_at=now - timedelta(days=days))
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adverts", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default=None, help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-selection-"))
    url = args.database or f"sqlite:///{folder / 'bench.db'}"
    hmac_key, fernet_key = new_keys()
    settings = load_settings(database_url=url, hmac_key=hmac_key, fernet_key=fernet_key, targeting=TARGETING)
    upgrade(url)
    store = Store(url)
    started = time.perf_counter()
    fill(store, PhoneVault.from_settings(settings), args.adverts, random.Random(1))
    print(f"filled {args.adverts} adverts in {time.perf_counter() - started:.1f} s")
    selecting, storing = [], []
    reasons: Counter[str] = Counter()
    for _ in range(args.runs):
        now = utcnow()
        started = time.perf_counter()
        with store.session() as session:
            selection = select_contacts(session, settings, now=now)
        selecting.append(time.perf_counter() - started)
        started = time.perf_counter()
        with store.session() as session:
            store_decisions(session, selection.decisions, now)
        storing.append(time.perf_counter() - started)
        reasons = Counter(d.reason.value for d in selection.decisions)
    store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database: {store.engine.dialect.name}; decisions per run: {sum(reasons.values())}")
    for name, times in (("select_contacts", selecting), ("store_decisions", storing)):
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{name} median {statistics.median(times):.2f} s (runs: {runs})")
    print(f"peak RSS {peak:.0f} MB; reasons: {dict(reasons.most_common())}")


if __name__ == "__main__":
    main()
