"""`outreach site try FILE`: a few pages through the real spider, what every field found with numbers masked, and
the health a crawl would have; nothing is stored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from outreach.cli import run
from outreach.store.db import Store
from outreach.store.models import Advert
from tests.crawling import crawl_settings
from testworld.fixture_site import FixtureSite

FAST = {"requests_per_second": 500, "delay_seconds": 0, "concurrency": 4}


def _try(tmp_path: Path, site_file: Path, *extra: str) -> int:
    config = tmp_path / "try.yaml"
    config.write_text(crawl_settings(tmp_path).for_child(), encoding="utf-8")
    config.chmod(0o600)  # it holds the keys
    return run(["site", "try", str(site_file), "--config", str(config), *extra])


def test_it_shows_each_field_with_numbers_masked_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FixtureSite(seed=31, count=40, layout="profiles") as site:
        path = site.write_site_file(tmp_path / "drafts", name="profiles", rate_limit=FAST, enabled=False)
        assert _try(tmp_path, path, "--pages", "1", "--adverts", "4") == 0
        details = [r.path for r in site.requests_to("/profiel/") if not r.path.endswith("/nummer")]
    out = capsys.readouterr().out
    assert len(details) == 4  # a few pages, politely: only what was asked
    shown = [ad for ad in site.generated.adverts if f"/profiel/{ad.id}" in details]
    for ad in shown:
        assert ad.title in out
        if ad.phone:
            assert ad.phone not in out and ad.phone[-3:] in out  # masked: the last digits tell them apart
    assert not re.search(r"\+\d{10,}", out)  # no number in full anywhere
    assert "listing pages read" in out and "ok: every field found something" in out
    with Store(f"sqlite:///{tmp_path / 'outreach.db'}") as store, store.session() as session:
        assert session.execute(select(func.count(Advert.id))).scalar_one() == 0  # stored nowhere


def test_a_selector_that_matches_nothing_is_named_and_the_exit_code_says_degraded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FixtureSite(seed=32, count=30) as site:
        path = site.write_site_file(tmp_path / "drafts", rate_limit=FAST)
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
        definition["detail"]["category"] = "li.categorie::text"  # the site says ad-category
        path.write_text(yaml.safe_dump(definition), encoding="utf-8")
        path.chmod(0o600)  # it holds the keys
        assert _try(tmp_path, path, "--adverts", "6") == 3
    out = capsys.readouterr().out
    assert "`category` found nothing on any of 6 adverts" in out
    assert "(nothing)" in out


def test_a_broken_site_file_is_one_line_before_anything_is_fetched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FixtureSite(seed=33, count=10) as site:
        path = site.write_site_file(tmp_path / "drafts", rate_limit=FAST)
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
        definition["listings"] = definition.pop("listing")
        path.write_text(yaml.safe_dump(definition), encoding="utf-8")
        path.chmod(0o600)  # it holds the keys
        assert _try(tmp_path, path) == 2
        assert site.requests_to() == []
    assert "listings: unknown key; did you mean `listing`?" in capsys.readouterr().err
