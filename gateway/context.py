"""Request context: the principal from the JWT (header, or `connection_init` on websockets)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from nats.aio.client import Client as NatsClient

from gateway.clients import (
    CasesClient,
    FiguresClient,
    GridsClient,
    NotificationsClient,
    OrganizationsClient,
    VolunteersClient,
)
from gateway.exports.jobs import ExportJobs
from gateway.imports import ImportJobs
from gateway.loaders import Loaders
from gateway.uploads import Uploads
from shared.auth import Principal
from shared.errors import Unauthenticated
from shared.identity import Verifier
from shared.messaging.rpc import RpcClient
from shared.settings import Settings


class Context:
    def __init__(
        self,
        settings: Settings,
        rpc: RpcClient,
        request: Any,
        response: Any,
        nc: NatsClient | None = None,
        verifier: Verifier | None = None,
    ):
        self.settings, self.rpc, self.request, self.response = settings, rpc, request, response
        self.verifier = verifier or Verifier(settings)
        self.nc = nc  # the gateway's NATS connection, for subscriptions on JetStream
        self.connection_params: dict[str, Any] | None = None
        self.uploads: Uploads | None = None  # the gateway's upload pipeline (gateway/uploads.py)
        self.exports: ExportJobs | None = None  # the gateway's export jobs (gateway/exports/jobs.py)
        self.imports: ImportJobs | None = None  # the gateway's import jobs (gateway/imports.py)

    @property
    def _authorization(self) -> str:
        if self.connection_params is not None:
            value = self.connection_params.get("Authorization") or self.connection_params.get("authorization")
            return value or ""
        return self.request.headers.get("authorization", "")

    @cached_property
    def token(self) -> str:
        raw = self._authorization
        if not raw.startswith("Bearer "):
            raise Unauthenticated("send `Authorization: Bearer <token>`; `yiwang token` mints one in development")
        return raw.removeprefix("Bearer ").strip()

    @cached_property
    def _verified(self) -> Principal:
        return self.verifier.person(self.token)  # HTTP: the key was loaded by RequestLimits

    @property
    def principal(self) -> Principal:
        """The caller; checked for expiry on every use, since one context serves a websocket
        connection for as long as it stays open."""
        principal = self._verified
        if principal.expired():
            raise Unauthenticated("token expired; sign in again (on a websocket: reconnect with a fresh token)")
        return principal

    @cached_property
    def grids(self) -> GridsClient:
        self.principal  # noqa: B018 - deny by default: no call leaves without a valid token
        return GridsClient(self.rpc, self.token)

    def figures(self, service: str) -> FiguresClient | GridsClient:
        """The client of a service that keeps figures (cases, organizations, volunteers), by its name."""
        clients: dict[str, FiguresClient | GridsClient] = {
            "cases": self.cases,
            "organizations": self.organizations,
            "volunteers": self.volunteers,
            "grids": self.grids,  # visits: grids' trends (visits, overdue visits, households)
        }
        return clients[service]

    @cached_property
    def cases(self) -> CasesClient:
        self.principal  # noqa: B018 - deny by default: no call leaves without a valid token
        return CasesClient(self.rpc, self.token)

    @cached_property
    def organizations(self) -> OrganizationsClient:
        self.principal  # noqa: B018 - deny by default: no call leaves without a valid token
        return OrganizationsClient(self.rpc, self.token)

    @cached_property
    def volunteers(self) -> VolunteersClient:
        self.principal  # noqa: B018 - deny by default: no call leaves without a valid token
        return VolunteersClient(self.rpc, self.token)

    # notifications: the caller's inbox and preferences
    @cached_property
    def notifications(self) -> NotificationsClient:
        self.principal  # noqa: B018 - deny by default: no call leaves without a valid token
        return NotificationsClient(self.rpc, self.token)

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.grids, self.cases, self.organizations, self.volunteers)
