"""Volunteers: queries and thin mutations. Each builds the service payload, calls `volunteers`, wraps the DTO;
the service checks roles, scope, capacity and the order workflow and masks personal data. Where a volunteer
id is optional, the service takes the caller's own volunteer record."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.common import Reader, command, connection, listing, reader, value_of, vols
from gateway.schema.enums import DispatchTargetKind, ServiceOrderStatus, VolunteerPostType
from gateway.schema.volunteer_types import (
    Activity,
    ActivityConnection,
    PointsEntryConnection,
    PointsRedemption,
    RewardItem,
    ServiceOrder,
    ServiceOrderConnection,
    Volunteer,
    VolunteerConnection,
    VolunteerPost,
    VolunteerPostConnection,
    VolunteerTaskConnection,
    VolunteerTeam,
    VolunteerTeamConnection,
    activity_node,
    entry_node,
    item_node,
    load_volunteer,
    order_node,
    post_node,
    redemption_node,
    task_node,
    team_node,
    volunteer_node,
)
from shared.contracts import volunteers as vc
from shared.contracts.common import ById

# --- inputs -------------------------------------------------------------------------------------------------


@strawberry.input(description="A volunteer registers themself (residents, volunteers) or staff register someone")
class RegisterVolunteerInput:
    name: str
    home_region_id: strawberry.ID = strawberry.field(
        description="The community (or a grid or building in it) they live in"
    )
    phone: str | None = strawberry.field(default=None, description="Stored encrypted")
    member_id: strawberry.ID | None = strawberry.field(
        default=None, description="A party member (党员志愿者), known from the organisations"
    )
    sub: str | None = strawberry.field(
        default=None,
        description="Staff registering someone: their account's `sub`; ignored for residents and volunteers",
    )
    skills: list[str] = strawberry.field(default_factory=list, description="Up to 20, e.g. 维修, 法律")
    availability: list[str] = strawberry.field(default_factory=list, description="Up to 20, e.g. SAT_AM")
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the first volunteer"
    )


@strawberry.input(description="志愿服务队 with its leader (who is its first member)")
class CreateVolunteerTeamInput:
    name: str
    leader_id: strawberry.ID
    region_id: strawberry.ID = strawberry.field(description="Where the team is anchored")


@strawberry.input(description="志愿服务岗位 at a community or a grid")
class CreateVolunteerPostInput:
    title: str
    type: VolunteerPostType
    region_id: strawberry.ID = strawberry.field(description="A COMMUNITY or a GRID")
    capacity: int = strawberry.field(description="How many volunteers may hold it, 1–1000")
    duties: str = ""


@strawberry.input(description="点单: a resident asks for a service, at a point (lng, lat) or a building")
class PlaceServiceOrderInput:
    category: str = strawberry.field(description="What kind of help, e.g. 助老")
    description: str
    lng: float | None = None
    lat: float | None = None
    building_id: strawberry.ID | None = strawberry.field(default=None, description="The BUILDING they live in")
    wished_at: datetime | None = strawberry.field(default=None, description="When they would like it")
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the first order"
    )


@strawberry.input(description="派单: a volunteer, a team or a post (its holders)")
class DispatchTargetInput:
    kind: DispatchTargetKind
    id: strawberry.ID


@strawberry.input(description="A volunteer activity in a grid (its polygon bounds location check-in) or a community")
class CreateActivityInput:
    title: str
    region_id: strawberry.ID
    starts_at: datetime
    ends_at: datetime = strawberry.field(description="After startsAt, at most 24 hours later")
    capacity: int
    with_code: bool = strawberry.field(default=True, description="Generate a six-digit check-in code")


@strawberry.input(description="A rewards catalogue item to add or replace (by code)")
class RewardItemInput:
    code: str = strawberry.field(description="Upper-case letters, digits and _")
    name: str
    cost: int = strawberry.field(description="Points per item, at least 1")
    stock: int


VolunteerArg = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="Default: your own volunteer record; staff may name anyone in their scope"),
]


# --- queries ------------------------------------------------------------------------------------------------


read_volunteer: Reader[Volunteer] = reader(load_volunteer, volunteer_node)


read_volunteer_team: Reader[VolunteerTeam] = reader(
    lambda info, id: vols(info).get_team(checked(ById, id=id)), team_node
)


read_volunteer_post: Reader[VolunteerPost] = reader(
    lambda info, id: vols(info).get_post(checked(ById, id=id)), post_node
)


read_service_order: Reader[ServiceOrder] = reader(
    lambda info, id: vols(info).get_order(checked(ById, id=id)), order_node
)


read_activity: Reader[Activity] = reader(lambda info, id: vols(info).get_activity(checked(ById, id=id)), activity_node)


@strawberry.type
class VolunteersQuery:
    @strawberry.field
    async def volunteer(self, info: Info, id: strawberry.ID) -> Volunteer | None:
        return await read_volunteer(info, str(id))

    @strawberry.field(description="Your own volunteer record, or null if you have not registered")
    async def my_volunteer(self, info: Info) -> Volunteer | None:
        dto = await vols(info).my_volunteer()
        return volunteer_node(dto) if dto else None

    @strawberry.field(description="Volunteers in your scope; regionId: living in that subtree")
    async def volunteers(
        self,
        info: Info,
        region_id: strawberry.ID | None = None,
        member_only: Annotated[
            bool | None, strawberry.argument(description="Only 党员志愿者 (true) or only 居民志愿者 (false)")
        ] = None,
        skill: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> VolunteerConnection:
        page = await vols(info).list_volunteers(
            listing(vc.ListVolunteers, {"regionId": region_id, "memberOnly": member_only, "skill": skill}, first, after)
        )
        return connection(page, volunteer_node)

    @strawberry.field
    async def volunteer_team(self, info: Info, id: strawberry.ID) -> VolunteerTeam | None:
        return await read_volunteer_team(info, str(id))

    @strawberry.field(description="志愿服务队 anchored in a region's subtree")
    async def volunteer_teams(
        self, info: Info, region_id: strawberry.ID | None = None, first: int | None = None, after: str | None = None
    ) -> VolunteerTeamConnection:
        page = await vols(info).list_teams(listing(vc.ListByRegion, {"regionId": region_id}, first, after))
        return connection(page, team_node)

    @strawberry.field
    async def volunteer_post(self, info: Info, id: strawberry.ID) -> VolunteerPost | None:
        return await read_volunteer_post(info, str(id))

    @strawberry.field(description="志愿服务岗位 in a region's subtree, or those a volunteer holds")
    async def volunteer_posts(
        self,
        info: Info,
        region_id: strawberry.ID | None = None,
        type: VolunteerPostType | None = None,
        volunteer_id: strawberry.ID | None = None,
        active_only: Annotated[bool, strawberry.argument(description="Only ACTIVE posts (the default)")] = True,
        first: int | None = None,
        after: str | None = None,
    ) -> VolunteerPostConnection:
        page = await vols(info).list_posts(
            listing(
                vc.ListPosts,
                {"regionId": region_id, "type": value_of(type), "volunteerId": volunteer_id, "activeOnly": active_only},
                first,
                after,
            )
        )
        return connection(page, post_node)

    @strawberry.field
    async def service_order(self, info: Info, id: strawberry.ID) -> ServiceOrder | None:
        return await read_service_order(info, str(id))

    @strawberry.field(description="Service orders in your scope (residents: their own)")
    async def service_orders(
        self,
        info: Info,
        region_id: strawberry.ID | None = None,
        status: ServiceOrderStatus | None = None,
        mine: Annotated[
            bool, strawberry.argument(description="Residents: placed by you; volunteers: taken by you")
        ] = False,
        first: int | None = None,
        after: str | None = None,
    ) -> ServiceOrderConnection:
        page = await vols(info).list_orders(
            listing(
                vc.ListOrders, {"regionId": region_id, "status": value_of(status), "mine": mine or None}, first, after
            )
        )
        return connection(page, order_node)

    @strawberry.field(description="心愿墙: a community's approved orders waiting for a taker (OPEN), oldest first")
    async def wish_wall(
        self, info: Info, community_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> ServiceOrderConnection:
        page = await vols(info).wish_wall(listing(vc.WishWall, {"communityId": community_id}, first, after))
        return connection(page, order_node)

    @strawberry.field(description="Cases handed to a volunteer")
    async def volunteer_tasks(
        self, info: Info, volunteer_id: VolunteerArg = None, first: int | None = None, after: str | None = None
    ) -> VolunteerTaskConnection:
        page = await vols(info).list_tasks(listing(vc.ListTasks, {"volunteerId": volunteer_id}, first, after))
        return connection(page, task_node)

    @strawberry.field
    async def activity(self, info: Info, id: strawberry.ID) -> Activity | None:
        return await read_activity(info, str(id))

    @strawberry.field(description="Volunteer activities in a region's subtree")
    async def activities(
        self, info: Info, region_id: strawberry.ID | None = None, first: int | None = None, after: str | None = None
    ) -> ActivityConnection:
        page = await vols(info).list_activities(listing(vc.ListByRegion, {"regionId": region_id}, first, after))
        return connection(page, activity_node)

    @strawberry.field(description="A volunteer's points balance: credits not yet expired, minus redemptions")
    async def points_balance(self, info: Info, volunteer_id: VolunteerArg = None) -> int:
        return int((await vols(info).points_balance(checked(vc.ByVolunteer, volunteerId=volunteer_id)))["balance"])

    @strawberry.field(description="A volunteer's points ledger, newest first")
    async def points_history(
        self, info: Info, volunteer_id: VolunteerArg = None, first: int | None = None, after: str | None = None
    ) -> PointsEntryConnection:
        page = await vols(info).points_history(listing(vc.ByVolunteer, {"volunteerId": volunteer_id}, first, after))
        return connection(page, entry_node)

    @strawberry.field(description="What points can be redeemed for (积分兑换)")
    async def reward_catalogue(self, info: Info) -> list[RewardItem]:
        return [item_node(i) for i in (await vols(info).catalogue())["items"]]


Version = Annotated[
    int | None, strawberry.argument(description="Refuse with CONFLICT unless the record is still at this version")
]


# --- mutations ----------------------------------------------------------------------------------------------


@strawberry.type
class VolunteersMutation:
    @strawberry.mutation(description="Register a volunteer (志愿者注册); with memberId, a 党员志愿者")
    async def register_volunteer(self, info: Info, input: RegisterVolunteerInput) -> Volunteer:
        return volunteer_node(
            await vols(info).register_volunteer(
                checked(
                    vc.RegisterVolunteer,
                    name=input.name,
                    homeRegionId=input.home_region_id,
                    phone=input.phone,
                    memberId=input.member_id,
                    sub=input.sub,
                    skills=list(input.skills),
                    availability=list(input.availability),
                    idempotencyKey=input.idempotency_key,
                )
            )
        )

    @strawberry.mutation(description="Change a volunteer's skills or availability; null leaves them unchanged")
    async def update_volunteer(
        self,
        info: Info,
        id: strawberry.ID,
        skills: list[str] | None = None,
        availability: list[str] | None = None,
        expected_version: Version = None,
    ) -> Volunteer:
        return volunteer_node(
            await vols(info).update_volunteer(
                command(vc.UpdateVolunteer, id, expected_version, skills=skills, availability=availability)
            )
        )

    @strawberry.mutation(description="Create a 志愿服务队 with its leader")
    async def create_volunteer_team(self, info: Info, input: CreateVolunteerTeamInput) -> VolunteerTeam:
        return team_node(
            await vols(info).create_team(
                checked(vc.CreateTeam, name=input.name, leaderId=input.leader_id, regionId=input.region_id)
            )
        )

    @strawberry.mutation(description="Add a volunteer to a team")
    async def add_team_member(self, info: Info, team_id: strawberry.ID, volunteer_id: strawberry.ID) -> VolunteerTeam:
        return team_node(await vols(info).add_team_member(command(vc.TeamMember, team_id, volunteerId=volunteer_id)))

    @strawberry.mutation(description="Take a volunteer off a team (not its leader)")
    async def remove_team_member(
        self, info: Info, team_id: strawberry.ID, volunteer_id: strawberry.ID
    ) -> VolunteerTeam:
        return team_node(await vols(info).remove_team_member(command(vc.TeamMember, team_id, volunteerId=volunteer_id)))

    @strawberry.mutation(description="Create a 志愿服务岗位 at a community or grid")
    async def create_volunteer_post(self, info: Info, input: CreateVolunteerPostInput) -> VolunteerPost:
        return post_node(
            await vols(info).create_post(
                checked(
                    vc.CreatePost,
                    title=input.title,
                    type=input.type.value,
                    regionId=input.region_id,
                    capacity=input.capacity,
                    duties=input.duties,
                )
            )
        )

    @strawberry.mutation(description="认岗: a volunteer claims a post, up to its capacity")
    async def claim_post(self, info: Info, post_id: strawberry.ID, volunteer_id: VolunteerArg = None) -> VolunteerPost:
        return post_node(await vols(info).claim_post(command(vc.ForVolunteer, post_id, volunteerId=volunteer_id)))

    @strawberry.mutation(description="Let go of a claim; staff may release anyone's")
    async def release_post(
        self, info: Info, post_id: strawberry.ID, volunteer_id: VolunteerArg = None
    ) -> VolunteerPost:
        return post_node(await vols(info).release_post(command(vc.ForVolunteer, post_id, volunteerId=volunteer_id)))

    @strawberry.mutation(description="Close a post; its claims are released")
    async def close_volunteer_post(self, info: Info, id: strawberry.ID) -> VolunteerPost:
        return post_node(await vols(info).close_post(command(vc.Versioned, id)))

    @strawberry.mutation(description="点单: a resident places a service order; it waits for review (PENDING_REVIEW)")
    async def place_service_order(self, info: Info, input: PlaceServiceOrderInput) -> ServiceOrder:
        return order_node(
            await vols(info).place_order(
                checked(
                    vc.PlaceOrder,
                    category=input.category,
                    description=input.description,
                    lng=input.lng,
                    lat=input.lat,
                    buildingId=input.building_id,
                    wishedAt=input.wished_at,
                    idempotencyKey=input.idempotency_key,
                )
            )
        )

    @strawberry.mutation(description="审核: approve (onto the wish wall, OPEN) or reject with the reason")
    async def review_service_order(
        self, info: Info, id: strawberry.ID, approve: bool, reason: str = "", expected_version: Version = None
    ) -> ServiceOrder:
        return order_node(
            await vols(info).review_order(command(vc.ReviewOrder, id, expected_version, approve=approve, reason=reason))
        )

    @strawberry.mutation(description="派单 (or 改派 before work starts) to a volunteer, a team or a post")
    async def dispatch_service_order(
        self, info: Info, id: strawberry.ID, target: DispatchTargetInput, expected_version: Version = None
    ) -> ServiceOrder:
        return order_node(
            await vols(info).dispatch_order(
                command(
                    vc.DispatchOrder, id, expected_version, target={"kind": target.kind.value, "id": str(target.id)}
                )
            )
        )

    @strawberry.mutation(
        description="接单: grab an OPEN order (first wins) or accept one dispatched to you, your "
        "team or a post you hold"
    )
    async def take_service_order(
        self, info: Info, id: strawberry.ID, volunteer_id: VolunteerArg = None
    ) -> ServiceOrder:
        return order_node(await vols(info).take_order(command(vc.ForVolunteer, id, volunteerId=volunteer_id)))

    @strawberry.mutation(description="The taker starts the service (IN_PROGRESS)")
    async def start_service_order(self, info: Info, id: strawberry.ID) -> ServiceOrder:
        return order_node(await vols(info).start_order(command(vc.Versioned, id)))

    @strawberry.mutation(description="The taker completes the service with its hours (to a tenth, at most 24)")
    async def complete_service_order(self, info: Info, id: strawberry.ID, hours: float) -> ServiceOrder:
        return order_node(await vols(info).complete_order(command(vc.CompleteOrder, id, hours=hours)))

    @strawberry.mutation(description="评价 1–5 by the resident who placed the order")
    async def rate_service_order(
        self, info: Info, id: strawberry.ID, score: int, comment: str | None = None
    ) -> ServiceOrder:
        return order_node(await vols(info).rate_order(command(vc.RateOrder, id, score=score, comment=comment)))

    @strawberry.mutation(
        description="Cancel: the resident before work starts; the community, with a reason, until it is completed"
    )
    async def cancel_service_order(self, info: Info, id: strawberry.ID, reason: str = "") -> ServiceOrder:
        return order_node(await vols(info).cancel_order(command(vc.CancelOrder, id, reason=reason)))

    @strawberry.mutation(description="Create a volunteer activity")
    async def create_activity(self, info: Info, input: CreateActivityInput) -> Activity:
        return activity_node(
            await vols(info).create_activity(
                checked(
                    vc.CreateActivity,
                    title=input.title,
                    regionId=input.region_id,
                    startsAt=input.starts_at,
                    endsAt=input.ends_at,
                    capacity=input.capacity,
                    withCode=input.with_code,
                )
            )
        )

    @strawberry.mutation(description="Sign up for an activity, up to its capacity")
    async def sign_up_for_activity(
        self, info: Info, activity_id: strawberry.ID, volunteer_id: VolunteerArg = None
    ) -> Activity:
        return activity_node(await vols(info).sign_up(command(vc.ForVolunteer, activity_id, volunteerId=volunteer_id)))

    @strawberry.mutation(description="Withdraw a sign-up")
    async def cancel_activity_sign_up(
        self, info: Info, activity_id: strawberry.ID, volunteer_id: VolunteerArg = None
    ) -> Activity:
        return activity_node(
            await vols(info).cancel_sign_up(command(vc.ForVolunteer, activity_id, volunteerId=volunteer_id))
        )

    @strawberry.mutation(
        description="签到 with the six-digit code shown at the venue, or at a point (lng, lat) "
        "inside the activity's grid"
    )
    async def check_in_to_activity(
        self,
        info: Info,
        activity_id: strawberry.ID,
        code: str | None = None,
        lng: float | None = None,
        lat: float | None = None,
    ) -> Activity:
        return activity_node(await vols(info).check_in(command(vc.CheckIn, activity_id, code=code, lng=lng, lat=lat)))

    @strawberry.mutation(description="签退, like check-in; credits the hours present")
    async def check_out_of_activity(
        self,
        info: Info,
        activity_id: strawberry.ID,
        code: str | None = None,
        lng: float | None = None,
        lat: float | None = None,
    ) -> Activity:
        return activity_node(await vols(info).check_out(command(vc.CheckIn, activity_id, code=code, lng=lng, lat=lat)))

    @strawberry.mutation(description="Admins: 补录 a volunteer's hours of an activity, with the reason")
    async def backfill_activity_hours(
        self, info: Info, activity_id: strawberry.ID, volunteer_id: strawberry.ID, hours: float, reason: str
    ) -> Activity:
        return activity_node(
            await vols(info).backfill(
                command(vc.Backfill, activity_id, volunteerId=volunteer_id, hours=hours, reason=reason)
            )
        )

    @strawberry.mutation(
        description="积分兑换: spend points on a catalogue item; a retry with the same redemptionId redeems once"
    )
    async def redeem_points(
        self, info: Info, item_code: str, redemption_id: str, volunteer_id: VolunteerArg = None
    ) -> PointsRedemption:
        return redemption_node(
            await vols(info).redeem_points(
                checked(vc.Redeem, itemCode=item_code, redemptionId=redemption_id, volunteerId=volunteer_id)
            )
        )

    @strawberry.mutation(description="Admins: add or replace a rewards catalogue item")
    async def upsert_reward_item(self, info: Info, input: RewardItemInput) -> RewardItem:
        return item_node(
            await vols(info).upsert_reward_item(
                checked(vc.CatalogueInput, code=input.code, name=input.name, cost=input.cost, stock=input.stock)
            )
        )
