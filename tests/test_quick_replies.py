"""Quick replies are templates: `outreach templates check` reads them, fills in the organisation and the
fieldworker, and fails one that cannot be read, is over the answer's SMS budget or holds a forbidden word."""

from __future__ import annotations

import shutil
from pathlib import Path

from messaging.quick_replies import quick_replies
from messaging.template_check import check_templates
from tests.conftest import World

SHIPPED = Path(__file__).resolve().parent.parent / "templates"


def _problems(world: World, templates: Path) -> dict[str, list[str]]:
    settings = world.settings(templates_dir=str(templates))
    return {r.name: r.problems for r in check_templates(settings) if r.kind == "reply" and r.problems}


def test_the_shipped_quick_replies_pass_and_are_filled_in(world: World) -> None:
    assert _problems(world, SHIPPED) == {}
    replies = quick_replies(SHIPPED, "nl", "Hulp R", "Sanne")
    assert replies and "Ik ben Sanne van Hulp R" in replies[0].text and "{" not in replies[0].text
    assert quick_replies(SHIPPED, "xx", "Hulp R", "Sanne") == []


def test_a_broken_long_or_indiscreet_quick_reply_fails_the_check(world: World, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(SHIPPED, templates)
    folder = templates / "quick_replies"
    (folder / "nl.yaml").write_text(
        "- title: Lang\n  text: " + "heel lang verhaal " * 60 + "\n- title: Politie\n  text: Bel de politie\n",
        encoding="utf-8",
    )
    (folder / "en.yaml").write_text("- title: [unclosed\n", encoding="utf-8")
    problems = _problems(world, templates)
    assert any("over the answer's budget" in p for p in problems["sms/reply/nl.Lang"])
    assert any("forbidden_words" in p for p in problems["sms/reply/nl.Politie"])
    assert any("not readable YAML" in p for p in problems["sms/reply/en.quick"])
