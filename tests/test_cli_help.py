"""Every command explains itself: `--help` works without configuration and shows at least one example."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from outreach.cli import app


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Typer 0.29 carries its own copy of click, so a group is whatever has subcommands."""
    for name, command in sorted(group.commands.items()):
        if getattr(command, "commands", None):
            yield (*path, name)  # a group with a callback of its own (e.g. `blocklist` lists)
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


COMMANDS = sorted(_commands(get_command(app)))


def test_the_cli_has_the_commands_the_fieldworkers_use() -> None:
    names = {" ".join(path) for path in COMMANDS}
    expected = {"cycle", "crawl", "send", "status", "demo", "db upgrade", "config check", "log", "show", "resend",
                "block", "unblock", "blocklist", "stats", "export", "scheduler"}  # fmt: skip
    assert expected <= names


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    if len(path) == 1 and path[0] in ("advert", "audit", "config", "db", "keys", "subject", "templates", "user"):
        return  # a pure group: its subcommands carry the examples
    assert "Example: outreach " + path[0] in result.output
