"""Wire models of the volunteers service (request payloads); replies are in VOLUNTEERS_API.

Every verb is `yiwang.volunteers.<verb>` with the caller's JWT. A volunteer acts as themself:
where a payload names no `volunteerId`, it is the caller's own volunteer record (found by
the token's `sub`). Replies are camelCase DTOs; a volunteer's phone is masked except to the
volunteer and to staff of their home region; an activity's check-in code only to staff.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from shared.contracts.attachments import AttachEvidence
from shared.contracts.common import ById, ByIds, Page, Wire
from shared.contracts.work import WorkQuery
from shared.vocabulary.volunteers import OrderStatus, PointsPeriod, PostType, TargetKind

PostTypeName = PostType
OrderStatusName = OrderStatus
TargetKindName = TargetKind
Id = Field(min_length=1, max_length=64)
Key = Field(default=None, max_length=128)


class Versioned(Wire):
    id: str = Id
    expectedVersion: int | None = None


class RegisterVolunteer(Wire):
    name: str = Field(min_length=1, max_length=64)
    homeRegionId: str = Id  # the community (or a grid or building in it) they live in
    phone: str | None = Field(default=None, max_length=20)
    memberId: str | None = None  # a party member (党员志愿者), known from `organizations`
    sub: str | None = Field(default=None, max_length=64)  # staff registering someone: their account
    skills: list[str] = Field(default_factory=list, max_length=20)
    availability: list[str] = Field(default_factory=list, max_length=20)
    idempotencyKey: str | None = Key


class UpdateVolunteer(Versioned):
    skills: list[str] | None = Field(default=None, max_length=20)
    availability: list[str] | None = Field(default=None, max_length=20)


class ListVolunteers(Page):
    regionId: str | None = None
    memberOnly: bool | None = None
    skill: str | None = None


class CreateTeam(Wire):
    name: str = Field(min_length=1, max_length=64)
    leaderId: str = Id
    regionId: str = Id


class TeamMember(Versioned):
    volunteerId: str = Id


class ListByRegion(Page):
    regionId: str | None = None


class CreatePost(Wire):
    title: str = Field(min_length=1, max_length=64)
    type: PostTypeName
    regionId: str = Id  # a community or a grid
    capacity: int = Field(ge=1, le=1000)
    duties: str = Field(default="", max_length=2000)


class ForVolunteer(Versioned):
    volunteerId: str | None = None  # staff acting on someone's claim; default: the caller


class ListPosts(Page):
    regionId: str | None = None
    type: PostTypeName | None = None
    volunteerId: str | None = None  # the posts a volunteer holds
    activeOnly: bool = True


class PlaceOrder(Wire):
    category: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=1, max_length=2000)
    lng: float | None = None
    lat: float | None = None
    buildingId: str | None = None
    wishedAt: AwareDatetime | None = None
    idempotencyKey: str | None = Key


class ReviewOrder(Versioned):
    approve: bool
    reason: str = Field(default="", max_length=500)


class TargetInput(Wire):
    kind: TargetKindName
    id: str = Id


class DispatchOrder(Versioned):
    target: TargetInput


class CompleteOrder(Versioned):
    hours: float


class RateOrder(Versioned):
    score: int
    comment: str | None = Field(default=None, max_length=500)


class CancelOrder(Versioned):
    reason: str = Field(default="", max_length=500)


class ListOrders(Page):
    regionId: str | None = None
    status: OrderStatusName | None = None
    mine: bool = False  # residents: placed by me; volunteers: taken by me


class WishWall(Page):
    communityId: str = Id


class ListTasks(Page):
    volunteerId: str | None = None


class CreateActivity(Wire):
    title: str = Field(min_length=1, max_length=64)
    regionId: str = Id  # a grid (its polygon bounds location check-in) or a community
    startsAt: AwareDatetime
    endsAt: AwareDatetime
    capacity: int = Field(ge=1, le=10000)
    withCode: bool = True  # generate a six-digit check-in code


class CheckIn(Versioned):
    code: str | None = Field(default=None, max_length=6)
    lng: float | None = None
    lat: float | None = None


class Backfill(Versioned):
    volunteerId: str = Id
    hours: float
    reason: str = Field(min_length=1, max_length=500)


class ByVolunteer(Page):
    volunteerId: str | None = None


class Redeem(Wire):
    itemCode: str = Field(min_length=1, max_length=32)
    redemptionId: str = Field(min_length=1, max_length=64)  # the client's id: a retry redeems once
    volunteerId: str | None = None


class CatalogueInput(Wire):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Z0-9_]+$")
    name: str = Field(min_length=1, max_length=64)
    cost: int = Field(ge=1)
    stock: int = Field(ge=0)


# residents' points (积分制): the ledger serves residents, keyed by a ledger account of their `sub`
class ResidentPointsRuleInput(Wire):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")
    description: str = Field(min_length=1, max_length=64)
    points: int = Field(ge=1, le=1000)
    cap: int | None = Field(default=None, ge=1, le=1000)  # awards per period; None: no cap
    period: PointsPeriod = PointsPeriod.MONTH


class SetResidentPointsRules(Wire):
    rules: list[ResidentPointsRuleInput] = Field(min_length=1, max_length=50)


class AwardResidentPoints(Wire):
    """`resident.award` (staff in scope of the place) and `points.residentAward` (a service's own
    token only, e.g. deliberation crediting 参与议事 automatically; not a gateway verb)."""

    sub: str = Field(min_length=1, max_length=64)  # the resident's account
    ruleCode: str = Field(min_length=1, max_length=32)
    regionId: str = Id  # where it happened: a community, or a grid or building in it
    occasion: str = Field(min_length=1, max_length=128)  # the meeting, activity or day: once per rule
    idempotencyKey: str | None = Key


class ResidentLedger(Page):
    sub: str | None = Field(default=None, max_length=64)  # staff name the resident; a resident reads their own


class RedeemResidentPoints(Wire):
    itemCode: str = Field(min_length=1, max_length=32)
    redemptionId: str = Field(min_length=1, max_length=64)  # the client's id: a retry redeems once
    regionId: str | None = None  # the community where it is redeemed; default: where they last earned


# units take service orders
class AcceptForUnit(Versioned):
    handler: str = Field(min_length=1, max_length=64)  # who at the unit does it, as the unit said


VOLUNTEERS_API = """
Verbs (yiwang.volunteers.<verb>) and their replies:
  volunteer.register RegisterVolunteer -> Volunteer   volunteer.update UpdateVolunteer -> Volunteer
  volunteer.get ById / volunteer.me {} -> Volunteer|null   volunteer.batch ByIds   volunteer.list ListVolunteers -> Page
  team.create CreateTeam -> Team   team.addMember / team.removeMember TeamMember -> Team
  team.get ById   team.list ListByRegion -> Page
  post.create CreatePost -> Post   post.claim / post.release ForVolunteer -> Post   post.close Versioned -> Post
  post.get ById   post.list ListPosts -> Page
  order.place PlaceOrder -> Order   order.review ReviewOrder   order.dispatch DispatchOrder
  order.take ForVolunteer   order.start Versioned   order.complete CompleteOrder   order.rate RateOrder
  order.cancel CancelOrder  (all -> Order)   order.get ById   order.list ListOrders   order.wishWall WishWall -> Page
  order.attach / activity.attach AttachEvidence -> {attachment}   (ATTACHMENTS_API in shared/contracts)
  work.volunteers WorkQuery -> {orders: [ServiceOrder], activities: [Activity], truncated}   (WORK_API)
  task.list ListTasks -> Page of Task
  activity.create CreateActivity -> Activity   activity.signUp / activity.cancelSignUp ForVolunteer -> Activity
  activity.checkIn / activity.checkOut CheckIn -> Activity   activity.backfill Backfill -> Activity
  activity.get ById   activity.list ListByRegion -> Page
  points.balance ByVolunteer -> {volunteerId, balance}   points.history ByVolunteer -> Page of LedgerEntry
  points.redeem Redeem -> {entry, item, balance}   catalogue.list {} -> {items}
  catalogue.upsert CatalogueInput -> item
  stats.batch ByIds -> {items: {regionId: VolunteerStats | {error}}}
  resident.rules {} -> {rules, version}   resident.setRules SetResidentPointsRules -> {rules, version}
  resident.award AwardResidentPoints -> {entry, balance, sub}   (staff in scope; other services: see below)
  resident.balance / resident.history ResidentLedger -> {balance} / Page of LedgerEntry
  resident.redeem RedeemResidentPoints -> {entry, item, balance}
  order.acceptForUnit AcceptForUnit -> Order   unit.orderStats ByIds -> {items: {unitId: UnitOrderStats}}
A Page is {items, totalCount, hasNextPage, endCursor}; `after` is the last item's id.
"""


# The request model of each verb: what the service parses, and what the gateway's typed client method for
# the verb takes (tests/unit/test_gateway_clients.py holds the two to this table). Verbs missing here take
# no payload worth a model.
REQUESTS: dict[str, type[Wire]] = {
    "volunteer.register": RegisterVolunteer,
    "volunteer.update": UpdateVolunteer,
    "volunteer.get": ById,
    "volunteer.me": Wire,
    "volunteer.batch": ByIds,
    "volunteer.list": ListVolunteers,
    "team.create": CreateTeam,
    "team.addMember": TeamMember,
    "team.removeMember": TeamMember,
    "team.get": ById,
    "team.list": ListByRegion,
    "post.create": CreatePost,
    "post.claim": ForVolunteer,
    "post.release": ForVolunteer,
    "post.close": Versioned,
    "post.get": ById,
    "post.list": ListPosts,
    "order.place": PlaceOrder,
    "order.review": ReviewOrder,
    "order.dispatch": DispatchOrder,
    "order.take": ForVolunteer,
    "order.start": Versioned,
    "order.complete": CompleteOrder,
    "order.rate": RateOrder,
    "order.cancel": CancelOrder,
    "order.get": ById,
    "order.list": ListOrders,
    "order.wishWall": WishWall,
    "task.list": ListTasks,
    "activity.create": CreateActivity,
    "activity.signUp": ForVolunteer,
    "activity.cancelSignUp": ForVolunteer,
    "activity.checkIn": CheckIn,
    "activity.checkOut": CheckIn,
    "activity.backfill": Backfill,
    "activity.get": ById,
    "activity.list": ListByRegion,
    "points.balance": ByVolunteer,
    "points.history": ByVolunteer,
    "points.redeem": Redeem,
    "catalogue.list": Wire,
    "catalogue.upsert": CatalogueInput,
    "stats.batch": ByIds,
    # evidence
    "order.attach": AttachEvidence,
    "activity.attach": AttachEvidence,
    # mywork: the caller's part of the day
    "work.volunteers": WorkQuery,
    # residents' points
    "resident.rules": Wire,
    "resident.setRules": SetResidentPointsRules,
    "resident.award": AwardResidentPoints,
    "resident.balance": ResidentLedger,
    "resident.history": ResidentLedger,
    "resident.redeem": RedeemResidentPoints,
    # units take service orders
    "order.acceptForUnit": AcceptForUnit,
    "unit.orderStats": ByIds,
}
