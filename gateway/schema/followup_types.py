"""A case's follow-up as GraphQL types: its verification (核查), return visits (回访) and comments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from gateway.schema.common import Connection, when
from gateway.schema.enums import CommentVisibility, ReturnVisitSatisfaction


@strawberry.type(description="核查 of a resolution by the dispatching centre")
class Verification:
    passed: bool
    note: str | None
    by: str | None = strawberry.field(description="The verifier's `sub` (not shown to residents)")
    at: datetime
    attachment_ids: list[strawberry.ID] = strawberry.field(description="The case's evidence the verifier named")


def verification_node(d: dict[str, Any]) -> Verification:
    return Verification(
        passed=bool(d["passed"]),
        note=d.get("note"),
        by=d.get("by"),
        at=when(d["at"]),
        attachment_ids=[strawberry.ID(i) for i in d.get("attachmentIds") or []],
    )


@strawberry.type(description="回访: staff calling the caller after a resolution")
class ReturnVisit:
    id: strawberry.ID
    reached: bool
    satisfaction: ReturnVisitSatisfaction | None = strawberry.field(description="Only when the caller was reached")
    note: str | None = strawberry.field(description="Staff only")
    by: str | None = strawberry.field(description="The caller's `sub` of staff (not shown to residents)")
    at: datetime


def return_visit_node(d: dict[str, Any]) -> ReturnVisit:
    return ReturnVisit(
        id=strawberry.ID(d["id"]),
        reached=bool(d["reached"]),
        satisfaction=ReturnVisitSatisfaction(d["satisfaction"]) if d.get("satisfaction") else None,
        note=d.get("note"),
        by=d.get("by"),
        at=when(d["at"]),
    )


@strawberry.type(description="A comment on a case; residents see and write PUBLIC ones only")
class CaseComment:
    id: strawberry.ID
    case_id: strawberry.ID
    text: str
    visibility: CommentVisibility
    author: str | None = strawberry.field(description="The author's `sub`; residents see it for their own only")
    author_role: str
    at: datetime
    attachment_ids: list[strawberry.ID]


def comment_node(d: dict[str, Any]) -> CaseComment:
    return CaseComment(
        id=strawberry.ID(d["id"]),
        case_id=strawberry.ID(d["caseId"]),
        text=d["text"],
        visibility=CommentVisibility(d["visibility"]),
        author=d.get("author"),
        author_role=d["authorRole"],
        at=when(d["at"]),
        attachment_ids=[strawberry.ID(i) for i in d.get("attachmentIds") or []],
    )


CaseCommentConnection = Connection[CaseComment]
