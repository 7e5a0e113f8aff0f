"""Checking an installation's configuration and generating the configuration reference."""
