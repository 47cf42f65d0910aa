"""Residents' points (积分制): the rule table, awards by staff, a resident's own balance, history and
redemption, staff reads of a resident's points in their scope. Thin: the volunteers service checks
roles, scope, caps and the ledger rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.common import Connection, connection, listing, vols, when
from gateway.schema.enums import PointsPeriod, PointsSourceKind
from gateway.schema.volunteer_types import RewardItem, item_node
from shared.contracts import volunteers as vc


@strawberry.type(description="A line of the residents' points table (积分规则)")
class ResidentPointsRule:
    code: str
    description: str = strawberry.field(description="What the resident did, e.g. 参与议事, 垃圾分类")
    points: int
    cap: int | None = strawberry.field(description="Awards per period at most; null: no cap")
    period: PointsPeriod


def rule_node(d: dict) -> ResidentPointsRule:
    return ResidentPointsRule(
        code=d["code"],
        description=d["description"],
        points=int(d["points"]),
        cap=d.get("cap"),
        period=PointsPeriod(d["period"]),
    )


@strawberry.type(description="The residents' points table and its version (0: the defaults, never set)")
class ResidentPointsRules:
    rules: list[ResidentPointsRule]
    version: int


def rules_node(d: dict) -> ResidentPointsRules:
    return ResidentPointsRules(rules=[rule_node(r) for r in d["rules"]], version=int(d["version"]))


@strawberry.type(description="An entry of a resident's points ledger: a credit, a redemption or an expiry")
class ResidentPointsEntry:
    id: strawberry.ID
    delta: int = strawberry.field(description="Positive for credits, negative for redemptions and expiries")
    source_kind: PointsSourceKind
    source_id: str = strawberry.field(description="RULE:occasion for a credit, the redemption or the expired lot")
    rule_code: str | None = strawberry.field(description="The rule that earned a credit")
    region_id: strawberry.ID | None = strawberry.field(description="Where the points were earned or redeemed")
    region_name: str | None
    at: datetime
    expires_at: datetime | None = strawberry.field(description="Credits only: when the points lapse")


def resident_entry_node(d: dict) -> ResidentPointsEntry:
    return ResidentPointsEntry(
        id=strawberry.ID(d["id"]),
        delta=int(d["delta"]),
        source_kind=PointsSourceKind(d["sourceKind"]),
        source_id=d["sourceId"],
        rule_code=d.get("ruleCode"),
        region_id=strawberry.ID(d["regionId"]) if d.get("regionId") else None,
        region_name=d.get("regionName"),
        at=when(d["at"]),
        expires_at=when(d.get("expiresAt")),
    )


ResidentPointsEntryConnection = Connection[ResidentPointsEntry]


@strawberry.type(description="A resident's points: the balance, and the points earned in the reader's scope")
class ResidentPoints:
    sub: str = strawberry.field(description="The resident's account")
    balance: int = strawberry.field(description="Credits not yet expired, minus redemptions")
    earned_here: int = strawberry.field(description="Points earned in the reader's scope (a resident: all)")


@strawberry.type(description="An award of residents' points, with the balance after it")
class ResidentPointsAward:
    entry: ResidentPointsEntry
    balance: int


@strawberry.type(description="A resident's redemption (积分兑换), with the balance after it")
class ResidentPointsRedemption:
    entry: ResidentPointsEntry
    item: RewardItem
    balance: int


@strawberry.input(description="A line of the residents' points table")
class ResidentPointsRuleInput:
    code: str = strawberry.field(description="Upper-case letters, digits and _, e.g. RUBBISH_SORTING")
    description: str
    points: int = strawberry.field(description="1–1000")
    cap: int | None = strawberry.field(default=None, description="Awards per period at most; null: no cap")
    period: PointsPeriod = PointsPeriod.MONTH


@strawberry.input(description="Staff record that a resident did what a rule names (once per rule and occasion)")
class AwardResidentPointsInput:
    sub: str = strawberry.field(description="The resident's account")
    rule_code: str
    region_id: strawberry.ID = strawberry.field(description="Where: a COMMUNITY, or a GRID or BUILDING in it")
    occasion: str = strawberry.field(
        description="The meeting, activity or day it is for: a rule awards once per occasion"
    )
    idempotency_key: str | None = strawberry.field(default=None, description="A retry returns the first award")


SubArg = Annotated[
    str | None, strawberry.argument(description="Staff: the resident's account; a resident reads their own")
]


@strawberry.type
class ResidentPointsQuery:
    @strawberry.field(description="The residents' points table (积分规则): what earns points, how many, how often")
    async def resident_points_rules(self, info: Info) -> ResidentPointsRules:
        return rules_node(await vols(info).resident_points_rules())

    @strawberry.field(
        description="A resident's points: your own, or (staff) a resident's who earned points in your scope"
    )
    async def resident_points(self, info: Info, sub: SubArg = None) -> ResidentPoints:
        d = await vols(info).resident_points_balance(checked(vc.ResidentLedger, sub=sub))
        return ResidentPoints(sub=d["sub"], balance=int(d["balance"]), earned_here=int(d["earnedHere"]))

    @strawberry.field(description="A resident's points ledger, newest first; staff see the entries of their scope")
    async def resident_points_history(
        self, info: Info, sub: SubArg = None, first: int | None = None, after: str | None = None
    ) -> ResidentPointsEntryConnection:
        page = await vols(info).resident_points_history(listing(vc.ResidentLedger, {"sub": sub}, first, after))
        return connection(page, resident_entry_node)


@strawberry.type
class ResidentPointsMutation:
    @strawberry.mutation(description="City administrators: set the residents' points table (audited)")
    async def set_resident_points_rules(self, info: Info, rules: list[ResidentPointsRuleInput]) -> ResidentPointsRules:
        body = checked(
            vc.SetResidentPointsRules,
            rules=[
                {
                    "code": r.code,
                    "description": r.description,
                    "points": r.points,
                    "cap": r.cap,
                    "period": r.period.value,
                }
                for r in rules
            ],
        )
        return rules_node(await vols(info).set_resident_points_rules(body))

    @strawberry.mutation(description="Staff in scope: award a resident points by a rule (积分)")
    async def award_resident_points(self, info: Info, input: AwardResidentPointsInput) -> ResidentPointsAward:
        d = await vols(info).award_resident_points(
            checked(
                vc.AwardResidentPoints,
                sub=input.sub,
                ruleCode=input.rule_code,
                regionId=input.region_id,
                occasion=input.occasion,
                idempotencyKey=input.idempotency_key,
            )
        )
        return ResidentPointsAward(entry=resident_entry_node(d["entry"]), balance=int(d["balance"]))

    @strawberry.mutation(
        description="A resident spends their points on a catalogue item; a retry with the same "
        "redemptionId redeems once"
    )
    async def redeem_resident_points(
        self,
        info: Info,
        item_code: str,
        redemption_id: str,
        region_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="The community where it is redeemed; default: where you last earned"),
        ] = None,
    ) -> ResidentPointsRedemption:
        d = await vols(info).redeem_resident_points(
            checked(vc.RedeemResidentPoints, itemCode=item_code, redemptionId=redemption_id, regionId=region_id)
        )
        return ResidentPointsRedemption(
            entry=resident_entry_node(d["entry"]), item=item_node(d["item"]), balance=int(d["balance"])
        )
