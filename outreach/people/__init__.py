"""The persons we contact: opt-outs and blocks, replies and conversations, privacy requests and key rotation."""
