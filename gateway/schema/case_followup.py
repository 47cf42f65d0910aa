"""A case's follow-up: verification (核查), return visits (回访), corrections (更正) and comments.
Thin mutations; the cases service checks roles, scope and the workflow."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.case_types import Case, case_node
from gateway.schema.common import command, ctx, drop_none
from gateway.schema.enums import CommentVisibility, ReturnVisitSatisfaction
from gateway.schema.followup_types import CaseComment, comment_node
from shared.contracts import cases as cc

Version = Annotated[
    int | None, strawberry.argument(description="Refuse with CONFLICT unless the case is still at this version")
]


@strawberry.input(description="更正: a new category, a new place (a point located to its grid, or a grid), or both")
class CorrectCaseInput:
    reason: str
    category_code: str | None = None
    lng: float | None = None
    lat: float | None = None
    region_id: strawberry.ID | None = strawberry.field(default=None, description="A GRID (or a BUILDING of one)")


@strawberry.type
class CaseFollowUpMutation:
    @strawberry.mutation(
        description="核查 by the dispatching centre: passed, the case awaits its rating (and a return visit for "
        "a caller without an account); failed, it goes back to its handler with a new deadline (重办)"
    )
    async def verify_case(
        self,
        info: Info,
        id: strawberry.ID,
        passed: bool,
        note: str | None = None,
        attachment_ids: list[strawberry.ID] | None = None,
        expected_version: Version = None,
    ) -> Case:
        body = command(
            cc.VerifyCase, id, expected_version, passed=passed, note=note, attachmentIds=list(attachment_ids or [])
        )
        return case_node(await ctx(info).cases.verify(body))

    @strawberry.mutation(
        description="回访 by staff, for a RESOLVED or CLOSED case: a reached caller's answer counts in 满意率 and "
        "decides a RESOLVED case like a rating (DISSATISFIED reopens it once, otherwise it closes)"
    )
    async def record_return_visit(
        self,
        info: Info,
        *,
        case_id: strawberry.ID,
        satisfaction: Annotated[
            ReturnVisitSatisfaction | None,
            strawberry.argument(description="The reached caller's answer; ignored when the caller was not reached"),
        ] = None,
        reached: bool,
        note: str | None = None,
        idempotency_key: str | None = None,
        expected_version: Version = None,
    ) -> Case:
        body = checked(
            cc.RecordReturnVisit,
            **drop_none(
                {
                    "caseId": str(case_id),
                    "satisfaction": satisfaction.value if satisfaction else None,
                    "reached": reached,
                    "note": note,
                    "idempotencyKey": idempotency_key,
                    "expectedVersion": expected_version,
                }
            ),
        )
        return case_node(await ctx(info).cases.return_visit(body))

    @strawberry.mutation(
        description="更正 a case's category, location or grid after intake; its figures move with it (audited)"
    )
    async def correct_case(
        self, info: Info, id: strawberry.ID, input: CorrectCaseInput, expected_version: Version = None
    ) -> Case:
        body = command(
            cc.CorrectCase,
            id,
            expected_version,
            **drop_none(
                {
                    "reason": input.reason,
                    "categoryCode": input.category_code,
                    "lng": input.lng,
                    "lat": input.lat,
                    "regionId": str(input.region_id) if input.region_id else None,
                }
            ),
        )
        return case_node(await ctx(info).cases.correct(body))

    @strawberry.mutation(description="A comment on a case; residents (its reporters) write PUBLIC ones only")
    async def comment_on_case(
        self,
        info: Info,
        id: strawberry.ID,
        text: str,
        visibility: CommentVisibility,
        attachment_ids: list[strawberry.ID] | None = None,
        idempotency_key: str | None = None,
    ) -> CaseComment:
        body = command(
            cc.CommentOnCase,
            id,
            None,
            text=text,
            visibility=visibility.value,
            attachmentIds=list(attachment_ids or []),
            idempotencyKey=idempotency_key,
        )
        return comment_node(await ctx(info).cases.comment(body))
