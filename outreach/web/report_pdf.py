"""The quarterly report as a PDF: report.html rendered in the chosen language with the dashboard's own catalogs
and filters, printed by WeasyPrint with static/report.css. Used by `outreach report` and the dashboard's button."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from outreach.reports.quarterly import QuarterlyReport
from outreach.reports.rates import MANUAL_RESPONSE_RATE
from outreach.web import i18n

STYLESHEET = Path(__file__).resolve().parent / "static" / "report.css"


def report_html(report: QuarterlyReport, language: str, zone: str, made: datetime) -> str:
    return (
        i18n.environment(language, zone)
        .get_template("report.html")
        .render(
            report=report,
            last_day=report.until - timedelta(microseconds=1),
            made=made,
            reference=MANUAL_RESPONSE_RATE,
        )
    )


def report_pdf(report: QuarterlyReport, language: str, zone: str, made: datetime) -> bytes:
    """The PDF's bytes. WeasyPrint is imported here: it loads Pango, which only the report needs."""
    from weasyprint import CSS, HTML

    html = report_html(report, language, zone, made)
    pdf = HTML(string=html, base_url=str(STYLESHEET.parent)).write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))])
    if not isinstance(pdf, bytes):  # write_pdf() without a target returns the bytes
        raise TypeError("WeasyPrint returned no PDF")
    return pdf
