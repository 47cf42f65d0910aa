"""The subject table of the notifications service: every verb and its handler."""

from __future__ import annotations

from shared.messaging.rpc import Handler


def verbs() -> dict[str, Handler]:
    return {}
