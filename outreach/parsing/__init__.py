"""Pure functions over text with no application state: crontab expressions, place names, folded text for matching."""
