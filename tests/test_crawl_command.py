"""`outreach crawl` crawls without messaging and `--stats` shows what the run recorded; `outreach status` names
sites whose markup seems to have changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outreach.cli import run
from outreach.settings import Settings
from tests.world.twilio_gateway import TwilioGateway


def test_crawl_then_stats_and_status(
    world_settings: Settings, tmp_path: Path, gateway: TwilioGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "crawl.yaml"
    config.write_text(world_settings.for_child(), encoding="utf-8")
    assert run(["crawl", "--config", str(config)]) == 0
    crawled = capsys.readouterr().out
    assert "crawl run 1: ok" in crawled and gateway.messages == []
    assert run(["crawl", "--stats", "--config", str(config)]) == 0
    assert "crawl run 1" in capsys.readouterr().out
    assert run(["status", "--json", "--config", str(config)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["sites_failing"] == {} and shown["messages_waiting"]["queued"] == 0
