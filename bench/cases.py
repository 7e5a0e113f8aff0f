"""Benchmark: the fieldworker's case pages with 10,000 cases and 100,000 messages, on SQLite and PostgreSQL, and the
time from clicking "send" on a case to the Twilio test gateway receiving the answer.

    .venv/bin/python -m bench.cases [--cases 10000] [--messages 100000] [--repeat 15] [--replies 20]
                                    [--database sqlite|postgresql|both]

Fills a fresh database as bench/dashboard.py does, adds the cases (half of them waiting, some assigned, labels on a
third), logs in a fieldworker and asks the real app in-process (Starlette's TestClient) for the case list (open,
mine, all) and a case page, reporting medians against the target of 150 ms. Then answers `--replies` cases through
the page with the app's Twilio client pointed at the test gateway (testworld, 127.0.0.1) and reports the median and
95th percentile from the POST to the gateway holding the message (target: p95 under 2 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from bench.dashboard import PASSWORD, database, fill, median_ms
from outreach.crypto import PhoneVault, new_keys
from outreach.settings import Settings, load_settings
from outreach.store.db import Store, upgrade
from outreach.store.models import Case, CaseLabel, Message, Person
from outreach.store.types import utcnow
from outreach.web.app import create_app
from testworld.twilio_gateway import TwilioGateway

LABELS = ("informatie gegeven", "doorverwezen", "afspraak gemaakt")


def add_cases(store: Store, count: int) -> None:
    now = utcnow()
    with store.session() as session:
        persons = list(session.execute(select(Person.id).order_by(Person.id).limit(count)).scalars())
        session.execute(
            insert(Case),
            [
                {
                    "person_id": person,
                    "organisation": "",
                    "status": "open" if i % 4 else "closed",
                    "assigned_to": "bob" if i % 3 == 0 else None,
                    "opened_at": now - timedelta(minutes=i),
                    "updated_at": now - timedelta(minutes=i),
                }
                for i, person in enumerate(persons)
            ],
        )
        waiting = persons[::2]
        for start in range(0, len(waiting), 1000):
            session.execute(
                update(Person)
                .where(Person.id.in_(waiting[start : start + 1000]))
                .values(needs_fieldworker_since=now - timedelta(hours=1), last_inbound_at=now - timedelta(hours=1))
            )
        ids = list(session.execute(select(Case.id).order_by(Case.id)).scalars())
        session.execute(
            insert(CaseLabel),
            [
                {"case_id": case_id, "label": LABELS[i % 3], "added_by": "bob", "added_at": now}
                for i, case_id in enumerate(ids[::3])
            ],
        )


def run(kind: str, cases: int, messages: int, repeat: int, replies: int) -> dict[str, Any]:
    from starlette.testclient import TestClient

    from tests.dashboard_world import csrf_of

    with database(kind) as url, TwilioGateway() as gateway:
        hmac_key, fernet_key = new_keys()
        settings: Settings = load_settings(
            database_url=url,
            hmac_key=hmac_key,
            fernet_key=fernet_key,
            web={"public_url": "https://testserver"},
            twilio=gateway.twilio_settings(),
            sending={"window_start": "00:00", "window_end": "00:00", "per_second": 100},
            dry_run=False,  # config/outreach.yaml ships dry_run: true; the point here is the real provider call
        )
        upgrade(url)
        store = Store(url)
        fill(store, PhoneVault.from_settings(settings), messages)
        add_cases(store, cases)
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        with store.session() as session:
            ids = list(session.execute(select(Case.id).where(Case.status == "open").order_by(Case.id)).scalars())
        pages: dict[str, float] = {}
        latencies: list[float] = []
        with TestClient(create_app(settings), base_url="https://testserver", follow_redirects=False) as client:
            login = client.get("/login")
            answer = client.post("/login", data={"csrf": csrf_of(login.text), "name": "bob", "password": PASSWORD})
            assert answer.status_code == 303, answer.status_code
            for label, path in (
                ("case list: open, waiting first", "/cases"),
                ("case list: mine", "/cases?view=mine"),
                ("case list: all", "/cases?view=all"),
                ("case list: by label", "/cases?label=doorverwezen"),
                ("a case page", f"/cases/{ids[len(ids) // 2]}"),
            ):

                def get(path: str = path) -> None:
                    assert client.get(path).status_code == 200

                pages[label] = round(median_ms(get, repeat), 1)
            for case_id in ids[:replies]:
                csrf = csrf_of(client.get(f"/cases/{case_id}").text)
                before = len(gateway.messages)
                started = time.perf_counter()
                sent = client.post(f"/cases/{case_id}/reply", data={"csrf": csrf, "body": "Hoi, dank je. Groet"})
                assert sent.status_code == 303, sent.text[:200]
                while len(gateway.messages) == before:
                    if time.perf_counter() - started > 30:
                        with store.session() as session:
                            reply = session.get(Message, int(sent.headers["location"].split("sent=")[1].split("&")[0]))
                            state = (reply.status, reply.error_message) if reply else None
                        raise SystemExit(f"case {case_id}: the answer never reached the gateway: {state}")
                    time.sleep(0.005)
                latencies.append((time.perf_counter() - started) * 1000)
        store.close()
    latencies.sort()
    return {
        "database": kind,
        "cases": cases,
        "messages": messages,
        "median_ms": pages,
        "worst_median_ms": max(pages.values()),
        "reply_to_gateway_ms": {
            "median": round(statistics.median(latencies), 1),
            "p95": round(latencies[max(int(len(latencies) * 0.95) - 1, 0)], 1),
            "max": round(latencies[-1], 1),
            "replies": len(latencies),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--replies", type=int, default=20)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        print(json.dumps(run(kind, args.cases, args.messages, args.repeat, args.replies), indent=2), flush=True)


if __name__ == "__main__":
    main()
