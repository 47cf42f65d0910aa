"""Verbs and event consumers of the notifications service."""
