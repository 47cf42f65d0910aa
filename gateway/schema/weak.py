"""Weak organisations (软弱涣散) and their rectification (整顿): `weakOrganizations` pages the
flagged organisations of a region with their score and signals; thin mutations start a plan,
record a task done, review it, and set the score's weights and thresholds (deployment-wide)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.common import Connection, connection, graphql_enum, listing, orgs, when
from gateway.schema.loads import load_org
from gateway.schema.org_types import PartyOrganization, org_node
from shared.contracts import weak_orgs as wo
from shared.vocabulary.weak import PlanStatus, WeakSignal

graphql_enum(
    WeakSignal,
    description="A signal of the weak-organisation score: organisational life (how long since, how often), "
    "members' 双报到, its region's cases (Fengqiao share, overdue) and its members' household visits",
)
graphql_enum(PlanStatus, name="RectificationStatus", description="OPEN until a review passes (PASSED)")


@strawberry.type(description="One signal of a score: its value, the threshold, the points it added and why")
class WeakSignalScore:
    signal: WeakSignal
    value: float | None = strawberry.field(description="null: not counted (the reason says why)")
    threshold: float
    points: int = strawberry.field(description="What it added to the score: 0 or maxPoints")
    max_points: int
    reason: str


@strawberry.type(description="A task of a rectification plan, with its deadline and who is responsible")
class RectificationTask:
    id: strawberry.ID
    title: str
    responsible: str
    due_at: datetime
    done_at: datetime | None
    note: str
    overdue: bool = strawberry.field(description="Raised by the sweeper once its deadline passed undone")


@strawberry.type(description="A review of a rectification plan")
class RectificationReview:
    at: datetime
    passed: bool
    note: str
    score: int
    threshold: int


@strawberry.type(description="整顿: the rectification plan of an organisation flagged 软弱涣散")
class RectificationPlan:
    id: strawberry.ID
    organization_id: strawberry.ID
    note: str
    status: PlanStatus
    review_at: datetime
    started_at: datetime
    closed_at: datetime | None
    score_at_start: int
    tasks: list[RectificationTask]
    reviews: list[RectificationReview]
    version: int


@strawberry.type(description="An organisation's weak-organisation score (软弱涣散), kept by the sweeper")
class WeakOrganization:
    organization_id: strawberry.ID
    score: int
    threshold: int
    flagged: bool
    flagged_at: datetime | None
    rated_at: datetime | None
    signals: list[WeakSignalScore]
    rectification: RectificationPlan | None = strawberry.field(description="The open plan, if any")
    rectified_count: int = strawberry.field(description="Plans of this organisation that passed their review")

    @strawberry.field
    async def organization(self, info: Info) -> PartyOrganization | None:
        dto = await load_org(info, str(self.organization_id))
        return org_node(dto) if dto else None


WeakOrganizationConnection = Connection[WeakOrganization]


@strawberry.type(description="A signal's threshold and the points it adds on its bad side")
class WeakSignalRule:
    signal: WeakSignal
    threshold: float
    points: int


@strawberry.type(description="The weights and thresholds of the weak-organisation score (one per deployment)")
class WeakScoreSettings:
    threshold: int = strawberry.field(description="The score that flags an organisation")
    window_days: int = strawberry.field(description="The window LIFE_FREQUENCY counts organisational life in")
    min_cases: int = strawberry.field(description="FENGQIAO_SHARE counts from this many cases in the region")
    rules: list[WeakSignalRule]
    version: int
    updated_at: datetime | None


def plan_node(d: dict) -> RectificationPlan:
    return RectificationPlan(
        id=d["id"],
        organization_id=d["organizationId"],
        note=d.get("note") or "",
        status=PlanStatus(d["status"]),
        review_at=when(d["reviewAt"]),
        started_at=when(d["startedAt"]),
        closed_at=when(d.get("closedAt")),
        score_at_start=d["scoreAtStart"],
        tasks=[
            RectificationTask(
                id=t["id"],
                title=t["title"],
                responsible=t["responsible"],
                due_at=when(t["dueAt"]),
                done_at=when(t.get("doneAt")),
                note=t.get("note") or "",
                overdue=t["overdue"],
            )
            for t in d["tasks"]
        ],
        reviews=[
            RectificationReview(
                at=when(r["at"]), passed=r["passed"], note=r["note"], score=r["score"], threshold=r["threshold"]
            )
            for r in d["reviews"]
        ],
        version=d["version"],
    )


def weak_node(d: dict) -> WeakOrganization:
    return WeakOrganization(
        organization_id=d["organizationId"],
        score=d["score"],
        threshold=d["threshold"],
        flagged=d["flagged"],
        flagged_at=when(d.get("flaggedAt")),
        rated_at=when(d.get("ratedAt")),
        signals=[
            WeakSignalScore(
                signal=WeakSignal(s["signal"]),
                value=s["value"],
                threshold=s["threshold"],
                points=s["points"],
                max_points=s["maxPoints"],
                reason=s["reason"],
            )
            for s in d["signals"]
        ],
        rectification=plan_node(d["plan"]) if d.get("plan") else None,
        rectified_count=d["rectifiedCount"],
    )


def settings_node(d: dict) -> WeakScoreSettings:
    return WeakScoreSettings(
        threshold=d["threshold"],
        window_days=d["windowDays"],
        min_cases=d["minCases"],
        rules=[
            WeakSignalRule(signal=WeakSignal(r["signal"]), threshold=r["threshold"], points=r["points"])
            for r in d["rules"]
        ],
        version=d["version"],
        updated_at=when(d.get("updatedAt")),
    )


@strawberry.input(description="A task of a rectification plan")
class RectificationTaskInput:
    title: str
    responsible: str = strawberry.field(description="Who carries it out: a person, team or unit")
    due_at: datetime


@strawberry.input(description="整顿: the tasks, their deadlines, and when the plan is reviewed")
class RectificationInput:
    tasks: list[RectificationTaskInput]
    review_at: datetime
    note: str = ""
    idempotency_key: str | None = None


@strawberry.input(description="A signal's threshold and points")
class WeakSignalRuleInput:
    signal: WeakSignal
    threshold: float
    points: int


@strawberry.input(description="The weak score's weights and thresholds; rules not named keep theirs")
class WeakScoreSettingsInput:
    threshold: int
    window_days: int = 90
    min_cases: int = 5
    rules: list[WeakSignalRuleInput] = strawberry.field(default_factory=list)


@strawberry.type
class WeakQuery:
    @strawberry.field(
        description="软弱涣散: the organisations of a region's subtree flagged by the weak score, with their "
        "score, signals and open rectification plan (staff in scope)"
    )
    async def weak_organizations(
        self, info: Info, region_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> WeakOrganizationConnection:
        page = await orgs(info).list_weak(listing(wo.ListWeak, {"regionId": region_id}, first, after))
        return connection(page, weak_node)

    @strawberry.field(description="The weights and thresholds of the weak-organisation score")
    async def weak_score_settings(self, info: Info) -> WeakScoreSettings:
        return settings_node(await orgs(info).weak_settings())


@strawberry.type
class WeakMutation:
    @strawberry.mutation(
        description="整顿: start the rectification plan of a flagged organisation (admins above it, or of its "
        "own township). Refused: an organisation not flagged, one with an open plan"
    )
    async def start_rectification(
        self, info: Info, organization_id: strawberry.ID, input: RectificationInput
    ) -> RectificationPlan:
        body = checked(wo.StartRectification, input, organizationId=organization_id)
        return plan_node(await orgs(info).start_rectification(body))

    @strawberry.mutation(description="Record a task of a rectification plan done (staff in scope)")
    async def complete_rectification_task(
        self,
        info: Info,
        plan_id: strawberry.ID,
        task_id: strawberry.ID,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> RectificationPlan:
        body = checked(
            wo.CompleteRectificationTask, planId=plan_id, taskId=task_id, note=note, idempotencyKey=idempotency_key
        )
        return plan_node(await orgs(info).complete_rectification_task(body))

    @strawberry.mutation(
        description="Review a rectification plan: passed clears the flag, but only when every task is done and "
        "the latest score is below the threshold (else refused with the reason); not passed is recorded"
    )
    async def review_rectification(
        self, info: Info, plan_id: strawberry.ID, passed: bool, note: str = "", idempotency_key: str | None = None
    ) -> RectificationPlan:
        body = checked(wo.ReviewRectification, planId=plan_id, passed=passed, note=note, idempotencyKey=idempotency_key)
        return plan_node(await orgs(info).review_rectification(body))

    @strawberry.mutation(
        description="Superadmin or a city's administrator: set the weak score's weights and thresholds (audited)"
    )
    async def set_weak_score_settings(self, info: Info, input: WeakScoreSettingsInput) -> WeakScoreSettings:
        return settings_node(await orgs(info).set_weak_settings(checked(wo.SetWeakSettings, input)))
