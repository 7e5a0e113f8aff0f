"""What came of the conversations: the outcome labels fieldworkers put on cases (settings `cases.outcome_labels`),
counted per label for the cases labelled in a period. `outreach stats --by outcome`, /stats and the quarterly report
count with this module. Counts only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.store.models import Case, CaseLabel


def label_counts(
    session: Session, since: datetime, until: datetime | None = None, *, organisations: list[str] | None = None
) -> list[tuple[str, int]]:
    """(label, cases) for the labels added in [since, until), most used first; organisations: only their cases
    (with one organisation, its cases are stored under "")."""
    query = (
        select(CaseLabel.label, func.count(CaseLabel.case_id.distinct()))
        .join(Case, Case.id == CaseLabel.case_id)
        .where(CaseLabel.added_at >= since)
        .group_by(CaseLabel.label)
    )
    if until is not None:
        query = query.where(CaseLabel.added_at < until)
    if organisations is not None:
        query = query.where(Case.organisation.in_(organisations))
    counts = [(label, int(count)) for label, count in session.execute(query)]
    return sorted(counts, key=lambda item: (-item[1], item[0]))
