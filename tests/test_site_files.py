"""Site files: every bundled one is valid, and a mistake is reported with the file, the field and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crawler.sites import load_site
from outreach.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted([*ROOT.glob("config/sites/*.yaml"), *ROOT.glob("testworld/sites/*.yaml")])


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.name)
def test_every_bundled_site_file_is_valid(path: Path) -> None:
    site = load_site(path)
    assert site.rate_limit.requests_per_second > 0


def _write(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load((ROOT / "testworld/sites/kinky_like.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate_limit": {"requests_per_second": 0}}, "rate_limit.requests_per_second: Input should be greater than 0"),
        ({"gate": {"cookies": {"ok": "1"}, "form_url": "/gate"}}, "gate: Value error, give exactly one of"),
        ({"gate": {"click": "button.enter"}}, "site: Value error, a click (gate or reveal_number) needs needs_browser"),
        ({"needs_browser": True}, "needs_browser: true needs a browser section"),
        ({"limits": {"max_pages": 0}}, "limits.max_pages: Input should be greater than or equal to 1"),
        ({"incremental": {"refresh_days": "weekly"}}, "incremental.refresh_days: Input should be a valid number"),
        ({"backoff": {"base": 2}}, "backoff.base: unknown key; did you mean `base_seconds`?"),
        ({"listings": {"advert_link": "a"}}, "listings: unknown key; did you mean `listing`?"),
        ({"detail": {"ad_id": "x", "title": "h1", "text": "p", "reveal": {}}}, "detail.reveal: unknown key; did you"),
        ({"detail": {"ad_id": {"css": "a", "url": "/(\\d+)"}, "title": "h1", "text": "p"}}, "give exactly one of"),
        ({"detail": {"ad_id": {"url": "/(unclosed"}, "title": "h1", "text": "p"}}, "url: not a regular expression"),
        ({"detail": {"ad_id": {"json": "a[?"}, "title": "h1", "text": "p"}}, "json: not a JMESPath expression"),
        ({"listing": {"json_entries": "items"}}, "json_entries needs advert_link: {json: PATH}"),
    ],
)
def test_a_wrong_site_file_names_the_file_and_the_field(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    path = _write(tmp_path, **changes)
    with pytest.raises(ConfigError) as error:
        load_site(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)
