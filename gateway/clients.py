"""Typed calls to the services: one client per service, one method per verb, taking the verb's request
model from `shared/contracts`. The gateway checks an input once, against that model (a bad field is the
same BAD_INPUT the service would answer), and sends the model; the caller's own token is forwarded so
the service re-checks scope."""
from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from shared.auth import Principal
from shared.contracts import cases as cc
from shared.contracts import organizations as oc
from shared.contracts import volunteers as vc
from shared.contracts.common import ByIds, Wire
from shared.errors import DomainError
from shared.messaging.rpc import Request, RpcClient

M = TypeVar("M", bound=BaseModel)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _wire(value: Any) -> Any:
    """A Strawberry input (a dataclass) as the camelCase dict of its set fields, nested inputs too."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): _wire(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items() if v is not None}
    return value


def checked(model: type[M], fields: Any = None, /, *, page: dict[str, Any] | None = None, **more: Any) -> M:
    """The request model of a verb from a Strawberry input and/or camelCase fields (None means unset) and
    a list's `page` (`first`, `after`: sent as given), checked once here: BadInput with the service's own
    wording (Request.parse) if a field is refused."""
    payload = {**(_wire(fields) if fields is not None else {}), **_wire(more), **(page or {})}
    return Request(cast(Principal, None), payload).parse(model)


class ServiceClient:
    """The calls of one service, with the caller's token. Subclasses name the verbs."""

    service = ""

    def __init__(self, rpc: RpcClient, token: str, service: str | None = None):
        self.rpc, self.token = rpc, token
        self.service = service or self.service

    async def send(self, verb: str, body: BaseModel | None = None) -> Any:
        """One verb with its request model; the model's set fields travel (as the service's contract reads them)."""
        return await self(verb, body.model_dump(mode="json", by_alias=True, exclude_unset=True) if body else None)

    async def __call__(self, verb: str, payload: dict[str, Any] | None = None) -> Any:
        """The wire call (a verb whose request has no model in shared/contracts yet uses it directly)."""
        return await self.rpc.call(self.service, verb, payload or {}, self.token)

    async def batch(self, verb: str, ids: list[str]) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send(verb, ByIds(ids=ids)))


class TableClient(ServiceClient):
    """A service whose verbs are checked through its contract's REQUESTS table (verb -> request model)."""

    requests: dict[str, type[Wire]] = {}

    async def call(self, verb: str, fields: Any = None, /, *, page: dict[str, Any] | None = None, **more: Any) -> Any:
        """`verb` with a Strawberry input and/or camelCase fields (None: unset), checked against the verb's
        request model; a verb without a model (it takes no payload) sends the fields as they are."""
        model = self.requests.get(verb)
        if model is None:
            return await self(verb, {**_wire(more), **(page or {})})
        return await self.send(verb, checked(model, fields, page=page, **more))


class OrganizationsClient(TableClient):
    """yiwang.organizations.<verb> (ORGANIZATIONS_API in shared/contracts/organizations.py)."""

    service = "organizations"
    requests = oc.REQUESTS


class VolunteersClient(TableClient):
    """yiwang.volunteers.<verb> (VOLUNTEERS_API in shared/contracts/volunteers.py)."""

    service = "volunteers"
    requests = vc.REQUESTS


class CasesClient(ServiceClient):
    """yiwang.cases.<verb> (CASES_API in shared/contracts/cases.py). Replies are the service's DTOs."""

    service = "cases"

    async def report(self, body: cc.ReportCase) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.report", body))

    async def list(self, body: cc.ListCases) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.list", body))

    async def accept(self, body: cc.CaseCommand) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.accept", body))

    async def assign(self, body: cc.AssignCase) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.assign", body))

    async def start(self, body: cc.CaseCommand) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.start", body))

    async def resolve(self, body: cc.ResolveCase) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.resolve", body))

    async def escalate(self, body: cc.WithReason) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.escalate", body))

    async def reject(self, body: cc.WithReason) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.reject", body))

    async def return_(self, body: cc.WithReason) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.return", body))

    async def rate(self, body: cc.RateCase) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.rate", body))

    async def close(self, body: cc.CloseCase) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.close", body))

    async def merge(self, body: cc.MergeCase) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.merge", body))

    async def reveal_contact(self, body: cc.RevealContact) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("case.revealContact", body))

    async def catalogue(self) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("catalogue.list"))

    async def upsert_category(self, body: cc.CategoryInput) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("catalogue.upsert", body))

    async def remove_category(self, body: cc.RemoveCategory) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("catalogue.remove", body))

    async def hotspots(self, body: cc.HotspotQuery) -> dict[str, Any]:
        return cast(dict[str, Any], await self.send("hotspot.list", body))


def item_or_error(value: Any) -> Any:
    """Unwrap one entry of a batch reply: a result, or the typed error the service gave for it."""
    if isinstance(value, dict) and set(value) == {"error"}:
        return DomainError.from_dict(value["error"])
    return value


__all__ = ["CasesClient", "OrganizationsClient", "ServiceClient", "VolunteersClient", "checked", "item_or_error"]
