"""`audit verify` reads the chain in batches (a national year holds millions of events): a problem is found
wherever it falls, at the batches' edges too."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from outreach import audit
from outreach.audit_events import Event
from outreach.store.db import Store, upgrade
from outreach.store.models import AuditEvent


@pytest.mark.parametrize("edited", [1, 3, 4, 7])  # the first, the end and the start of a batch, the last
def test_an_edit_is_found_in_any_batch(database_url: str, edited: int) -> None:
    upgrade(database_url)
    with Store(database_url) as store:
        for index in range(7):
            with store.session() as session:
                audit.record(session, Event.SENDING_RESUMED, "alice", index=index)
        with store.session() as session:
            assert audit.verify(session, batch=3) == []
            session.execute(update(AuditEvent).where(AuditEvent.seq == edited).values(actor="mallory"))
        with store.session() as session:
            assert [(p.seq, p.problem) for p in audit.verify(session, batch=3)] == [(edited, "content was edited")]
