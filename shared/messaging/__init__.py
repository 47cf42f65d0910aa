"""Messaging: CloudEvents envelope, subjects, request-reply, outbox and relay, consumers."""
