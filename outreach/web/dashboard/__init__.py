"""The supervisor dashboard, served by `outreach serve` next to the webhooks: server-rendered pages."""
