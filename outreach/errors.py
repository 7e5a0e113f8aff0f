"""Errors that carry their meaning: the CLI turns each into one line and its exit code, the dashboard into a page
in the user's language."""

from typing import Any


def N_(message: str) -> str:
    """Marks a message for the dashboard's catalogs: Babel extracts it (babel.cfg), the dashboard translates it where
    it shows it. Give values as %(name)s and pass them separately, so the text stays one catalog entry."""
    return message


class OutreachError(Exception):
    """A failure the user should read as one line (exit code 1).

    `OutreachError(N_("no person %(person)s"), person=7)` reads "no person 7" and keeps the text and its values apart
    for the dashboard's translation (`message`, `params`)."""

    exit_code = 1

    def __init__(self, message: str = "", /, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


class ConfigError(OutreachError):
    """The installation is misconfigured: a setting, a key, a site file or a template (exit code 2)."""

    exit_code = 2


class UsageError(OutreachError):
    """The command was called wrongly (exit code 2)."""

    exit_code = 2


class DataLost(OutreachError):
    """The work finished, but some of it was lost (a degraded crawl: exit code 3), so a script never reads it as a
    clean run."""

    exit_code = 3


class PermissionDenied(OutreachError):
    """Only a supervisor may do this (exit code 1)."""
