"""A visit as stored (the `visits` collection): the record, its pending events, and who may see,
attach to or report from it. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from shared.auth import STAFF_ROLES, Principal, public_actor
from shared.domain import Attachment, GeoPoint
from shared.errors import Conflict, Forbidden


class Visit(BaseModel):
    id: str
    householdId: str | None = None
    buildingId: str
    gridId: str
    path: list[str]  # the building's path
    kind: str
    findingsEnc: str | None = None
    at: datetime
    location: GeoPoint | None = None
    flagged: bool = False
    overrideReason: str | None = None
    visitor: str
    visitorMember: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    caseId: str | None = None
    caseRequest: dict[str, Any] | None = None  # the case asked for from the finding, until it is linked
    createdAt: datetime
    updatedAt: datetime
    version: int = 1
    _pending: list[tuple[str, str | None, dict[str, Any]]] = PrivateAttr(default_factory=list)

    @property
    def region_path(self) -> list[str]:
        return self.path

    def _change(self, at: datetime) -> None:
        self.version += 1
        self.updatedAt = at

    def _emit(self, type: str, by: Principal | None, now: datetime, /, **data: Any) -> None:
        self._pending.append((type, public_actor(by), data))

    def drain(self) -> list[tuple[str, str | None, dict[str, Any]]]:
        out, self._pending = self._pending, []
        return out

    def request_case(self, payload: dict[str, Any], at: datetime) -> None:
        """Keep the case asked for from this visit's finding (reported, then linked, even after a crash)."""
        self._change(at)
        self.caseRequest = payload
        self._emit("VISIT_CASE_REQUESTED", None, at)

    def link_case(self, case_id: str, at: datetime) -> bool:
        """Link the case reported from this visit; False when it already is (a retry)."""
        if self.caseId == case_id:
            return False
        if self.caseId is not None:
            raise Conflict(f"visit {self.id} already has case {self.caseId}", {"caseId": self.caseId})
        self._change(at)
        self.caseId = case_id
        return True


def check_may_add_to(v: Visit, p: Principal) -> None:
    """Who adds to a visit (a file, a case from its finding): its visitor, or the staff over its grid
    (the caller already sees the visit)."""
    if p.unrestricted or p.sub == v.visitor or p.role in STAFF_ROLES:
        return
    raise Forbidden("only the visitor (or the staff over the grid) may add to a visit")
