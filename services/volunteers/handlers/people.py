"""Volunteer and team verbs, and the replica of party members fed by `organizations` events."""

from __future__ import annotations

from services.volunteers import domain as d
from services.volunteers.handlers.common import RACE_RETRIES, Context
from shared.auth import Principal, Role
from shared.commands import page_reply
from shared.contracts import volunteers as w
from shared.contracts.common import ById, ByIds
from shared.ids import new_id
from shared.messaging.envelope import CloudEvent
from shared.mongo import UnitOfWork, now


# -- volunteers ----------------------------------------------------------------------------
async def register(cx: Context, c: w.RegisterVolunteer, p: Principal) -> dict:
    home = cx.community_path(c.homeRegionId)
    d.authorize_member_link(p, c.memberId)
    member = await cx.store.member(c.memberId) if c.memberId else None

    async def work(uow: UnitOfWork) -> str:
        v = d.Volunteer.register(
            id=new_id("v"),
            sub=c.sub or p.sub,
            name=c.name,
            home_path=home,
            by=p,
            now=now(),
            member_id=c.memberId,
            members={member.member_id: member} if member else {},
            phone_enc=cx.cipher.encrypt(c.phone),
            skills=c.skills,
            availability=c.availability,
        )
        await cx.store.claim_key(uow, f"volunteer-sub:{v.sub}", v.id, f"{v.sub} is already a volunteer")
        if v.member_id:
            await cx.store.claim_key(
                uow, f"volunteer-member:{v.member_id}", v.id, f"party member {v.member_id} is already a volunteer"
            )
        await cx.put(uow, cx.store.volunteers, v)
        return v.id

    async def view(volunteer_id: str) -> dict:
        return cx.views.volunteer(p, await cx.store.volunteers.load(volunteer_id))

    return await cx.idempotent(p, "volunteer.register", c.idempotencyKey, work, view)


async def update(cx: Context, c: w.UpdateVolunteer, p: Principal) -> dict:
    v = await cx.change(
        cx.store.volunteers,
        c.id,
        c.expectedVersion,
        lambda v, _: v.update_profile(p, now(), skills=c.skills, availability=c.availability),
        by=p,
        action=lambda v: d.authorize_profile_edit(p, v),
    )
    return cx.views.volunteer(p, v)


async def get(cx: Context, q: ById, p: Principal) -> dict | None:
    v = await cx.readable(p, cx.store.volunteers, q.id)
    return cx.views.volunteer(p, v) if v else None


async def me(cx: Context, _: None, p: Principal) -> dict | None:
    v = await cx.store.by_sub(p.sub)
    return cx.views.volunteer(p, v) if v else None


async def batch(cx: Context, q: ByIds, p: Principal) -> dict:
    reply = await cx.batch(q.ids, p, cx.store.volunteers, cx.views.volunteer)
    if p.role is Role.RESIDENT:  # a resident sees who serves them (the taker of their order), masked
        refused = [i for i, v in reply["items"].items() if isinstance(v, dict) and "error" in v]
        if refused:
            takers = d.takers_shown_to_resident(refused, await cx.store.takers_of_resident(p.sub))
            for v in (await cx.store.volunteers.many(takers)).values():
                reply["items"][v.id] = cx.views.volunteer(p, v)
    return reply


async def listing(cx: Context, q: w.ListVolunteers, p: Principal) -> dict:
    d.authorize_volunteer_list(p)
    query = cx.scope(p, q.regionId, cx.store.volunteers)
    if q.memberOnly:
        query["volunteer_kind"] = "PARTY_MEMBER"
    if q.skill:
        query["skills"] = q.skill
    total = None
    if set(query) == {"path"} and isinstance(query["path"], str):  # a region's: its figure
        total = (await cx.store.counters([query["path"]])).get(query["path"], {}).get("volunteers", 0)
    items, total, more = await cx.store.volunteers.page(query, q.first, q.after, total)
    return page_reply([cx.views.volunteer(p, v) for v in items], total, more)


# -- teams ---------------------------------------------------------------------------------
async def team_create(cx: Context, c: w.CreateTeam, p: Principal) -> dict:
    path = cx.path(c.regionId)

    async def work(uow: UnitOfWork) -> d.Team:
        leader = await cx.scoped(cx.store.volunteers, c.leaderId, p, uow)
        team = d.Team.create(id=new_id("vt"), name=c.name, leader=leader, path=path, by=p, now=now())
        await cx.put(uow, cx.store.teams, team)
        return team

    return cx.views.team(await cx.rt.transact(work))


async def team_add(cx: Context, c: w.TeamMember, p: Principal) -> dict:
    async def add(t: d.Team, uow: UnitOfWork) -> None:
        t.add_member(p, await cx.scoped(cx.store.volunteers, c.volunteerId, p, uow), now())

    return cx.views.team(
        await cx.change(cx.store.teams, c.id, c.expectedVersion, add, RACE_RETRIES, by=p, action=d.Action.MANAGE_TEAM)
    )


async def team_remove(cx: Context, c: w.TeamMember, p: Principal) -> dict:
    t = await cx.change(
        cx.store.teams,
        c.id,
        c.expectedVersion,
        lambda t, _: t.remove_member(p, c.volunteerId, now()),
        RACE_RETRIES,
        by=p,
        action=d.Action.MANAGE_TEAM,
    )
    return cx.views.team(t)


async def team_get(cx: Context, q: ById, p: Principal) -> dict | None:
    t = await cx.readable(p, cx.store.teams, q.id)
    return cx.views.team(t) if t else None


async def team_list(cx: Context, q: w.ListByRegion, p: Principal) -> dict:
    items, total, more = await cx.store.teams.page(cx.scope(p, q.regionId, cx.store.teams), q.first, q.after)
    return page_reply([cx.views.team(t) for t in items], total, more)


# -- the replica of party members ----------------------------------------------------------
async def on_org_event(cx: Context, event: CloudEvent) -> None:
    """The replica of party members: id, organisation (the work unit side) and whether
    they are in service; a linked volunteer's copy follows."""
    change = d.member_change(event.event, event.subject, event.data)
    if change is None:
        return
    await cx.store.apply_member_change(change)
    await cx.store.refresh_member(change.member_id)
