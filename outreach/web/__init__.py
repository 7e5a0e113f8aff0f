"""`outreach serve`: Twilio's webhooks (status callbacks, inbound messages) and the health endpoints."""
