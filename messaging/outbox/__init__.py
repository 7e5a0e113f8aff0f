"""The outbox, in one place: put a message in (enqueue), build a sender (factory), drain it (drain), follow up on
what the provider says (delivery), and the send policy (window, pacing, backoff)."""
