"""CLI commands, one module per area; outreach.cli runs them."""
