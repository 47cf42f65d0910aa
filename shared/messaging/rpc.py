"""Request-reply over NATS: the service-side handler wrapper and the caller's client.

Every reply is `{"ok": true, "result": …}` or `{"ok": false, "error": {code, message, details}}`.
The caller's JWT travels in the `Authorization` header; services verify it themselves
(`shared.identity.Verifier.caller`: a service's own token, or a person's token the gateway forwarded).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import nats.errors
from nats.aio.client import Client as NatsClient
from pydantic import BaseModel, ValidationError

from shared.auth import Principal
from shared.errors import BadInput, DomainError, InternalError, Unauthenticated, Unavailable
from shared.identity import Verifier
from shared.jsonutil import dumps, loads
from shared.limits import Bounds, RejectedJson, loads_bounded
from shared.logs import REQUEST_ID, REQUEST_ID_HEADER
from shared.messaging.subjects import rpc_subject
from shared.tracing import client_span

log = logging.getLogger("yiwang.rpc")
AUTH_HEADER = "Authorization"
# When the caller stops waiting (unix time, seconds): a service skips a request still queued
# after it, rather than do work nobody will read (after a crash, clients' retries pile up).
DEADLINE_HEADER = "Yiwang-Deadline"
CLOCK_TOLERANCE_S = 1.0  # hosts' clocks may differ by this much (NTP keeps them far closer)
M = TypeVar("M", bound=BaseModel)


@dataclass
class Request:
    principal: Principal
    payload: dict[str, Any]

    def parse(self, model: type[M]) -> M:
        return parse(model, self.payload)


def parse(model: type[M], payload: dict[str, Any]) -> M:
    """`payload` as the request model `model`, or BadInput naming each refused field (the first five in
    the message, all in `details.errors`): the wording a service answers a bad request with, and the
    gateway's own check of an input against the same contract model."""
    try:
        return model.model_validate(payload)
    except ValidationError as e:
        raise BadInput(_validation_message(e), {"errors": _validation_details(e)}) from e


Handler = Callable[[Request], Awaitable[Any]]
Gate = Callable[[Principal], None]


def gated(gate: Gate | None, handler: Handler) -> Handler:
    """`handler`, run only for a caller who passes `gate` (a role check, raising Forbidden),
    checked before the payload is parsed: a subject table's entry."""
    if gate is None:
        return handler

    async def run(req: Request) -> Any:
        gate(req.principal)
        return await handler(req)

    return run


def _validation_details(e: ValidationError) -> list[dict[str, Any]]:
    return [{"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in e.errors()]


def _validation_message(e: ValidationError) -> str:
    parts = [f"{d['field'] or 'input'}: {d['message']}" for d in _validation_details(e)]
    return "; ".join(parts[:5])


def caller_gone(headers: dict[str, str] | None) -> bool:
    """Whether the caller's deadline (if it sent one) passed more than CLOCK_TOLERANCE_S ago."""
    try:
        deadline = float((headers or {})[DEADLINE_HEADER])
    except (KeyError, TypeError, ValueError):
        return False
    return time.time() > deadline + CLOCK_TOLERANCE_S


def ok(result: Any) -> bytes:
    return dumps({"ok": True, "result": result})


def item_error(error: DomainError) -> dict[str, Any]:
    """One failed entry of a batch reply; the gateway's `item_or_error` reads it back."""
    return {"error": error.to_dict()}


def fail(error: DomainError) -> bytes:
    return dumps({"ok": False, "error": error.to_dict()})


async def dispatch(
    handler: Handler,
    body: bytes,
    headers: dict[str, str] | None,
    verifier: Verifier,
    bounds: Bounds | None = None,
) -> bytes:
    """Run one request through a handler; every outcome becomes a reply, never an exception.
    The caller is another service (its own token) or a person (the token the gateway
    forwarded). Log lines written meanwhile carry the caller's request id. With `bounds`, a payload nested
    too deep, or with a string, list or object over them (or a lone surrogate), is refused
    before the handler sees it: whoever the caller, nothing unbounded reaches the store."""
    rid = REQUEST_ID.set((headers or {}).get(REQUEST_ID_HEADER))
    try:
        token = (headers or {}).get(AUTH_HEADER, "")
        if not token.startswith("Bearer "):
            raise Unauthenticated("no credentials on the request")
        principal = await verifier.caller(token.removeprefix("Bearer "))
        try:
            payload = (loads_bounded(body, bounds) if bounds else loads(body)) if body else {}
        except RejectedJson as e:
            raise BadInput(f"request refused: {e.reason}", {"limit": "payload"}) from e
        except ValueError as e:
            raise BadInput("request body is not JSON") from e
        if not isinstance(payload, dict):
            raise BadInput("request body must be a JSON object")
        return ok(await handler(Request(principal, payload)))
    except DomainError as e:
        return fail(e)
    except Exception:  # noqa: BLE001 - an unexpected error must still answer the caller
        log.exception("handler %s failed", getattr(handler, "__name__", handler))
        return fail(InternalError("internal error"))
    finally:
        REQUEST_ID.reset(rid)


class RpcClient:
    """Calls `yiwang.<service>.<verb>`; raises the service's typed error, or Unavailable."""

    def __init__(self, nc: NatsClient, timeout_s: float = 5.0):
        self.nc = nc
        self.timeout_s = timeout_s

    async def call(
        self, service: str, verb: str, payload: dict[str, Any] | BaseModel, token: str, timeout_s: float | None = None
    ) -> Any:
        body = dumps(payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload)
        timeout = timeout_s or self.timeout_s
        headers = {AUTH_HEADER: f"Bearer {token}", DEADLINE_HEADER: f"{time.time() + timeout:.3f}"}
        if rid := REQUEST_ID.get():
            headers[REQUEST_ID_HEADER] = rid
        try:
            with client_span(f"{service} {verb}", headers, **{"rpc.service": service, "rpc.method": verb}):
                msg = await self.nc.request(rpc_subject(service, verb), body, timeout=timeout, headers=headers)
        except nats.errors.NoRespondersError as e:
            raise Unavailable(f"the {service} service is not running", {"service": service}) from e
        except (TimeoutError, nats.errors.TimeoutError) as e:
            raise Unavailable(f"the {service} service did not answer in time", {"service": service}) from e
        except nats.errors.ConnectionClosedError as e:
            raise Unavailable("the message bus is not reachable", {"service": service}) from e
        except nats.errors.MaxPayloadError as e:
            raise BadInput(
                f"the request is too large to send ({len(body)} bytes; the message bus takes {self.nc.max_payload})",
                {"limit": "payload"},
            ) from e
        reply = loads(msg.data)
        if reply.get("ok"):
            return reply.get("result")
        raise DomainError.from_dict(reply.get("error") or {})
