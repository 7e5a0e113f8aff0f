"""Errors that carry their meaning: the CLI turns each into one line and its exit code."""


class OutreachError(Exception):
    """A failure the user should read as one line (exit code 1)."""

    exit_code = 1


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
