"""Language detection, templates, channel senders and the outbox drainer."""
