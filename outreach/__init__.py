"""outreach: the core shared by the crawler and messaging: store, cycle, selection, CLI."""
