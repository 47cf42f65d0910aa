"""Typed calls to the services; the caller's own token is forwarded so services re-check scope."""
from __future__ import annotations

from typing import Any

from shared.errors import DomainError
from shared.messaging.rpc import RpcClient


class ServiceClient:
    def __init__(self, rpc: RpcClient, service: str, token: str):
        self.rpc, self.service, self.token = rpc, service, token

    async def __call__(self, verb: str, payload: dict[str, Any] | None = None) -> Any:
        return await self.rpc.call(self.service, verb, payload or {}, self.token)


def item_or_error(value: Any) -> Any:
    """Unwrap one entry of a batch reply: a result, or the typed error the service gave for it."""
    if isinstance(value, dict) and set(value) == {"error"}:
        return DomainError.from_dict(value["error"])
    return value
