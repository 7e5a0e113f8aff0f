"""Channel senders: each has send(to, body) -> SendResult and raises SendError. None touches the database."""
