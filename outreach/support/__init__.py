"""Plumbing shared by the front doors: JSON logs, progress lines, notifications, spreadsheet-safe CSV, healthcheck."""
