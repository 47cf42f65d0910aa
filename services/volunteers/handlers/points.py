"""Points verbs: balance, history, redemption (serialised per volunteer by their wallet
document), the write-off of expired lots, and the reward catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.volunteers import domain as d
from services.volunteers.handlers import resident_points
from services.volunteers.handlers.common import SERVICE, Context
from shared.auth import Principal, require_deployment_admin
from shared.commands import page_reply
from shared.contracts import volunteers as w
from shared.errors import NotFound
from shared.messaging.envelope import make_event
from shared.mongo import UnitOfWork, now


def ledger_event(uow: UnitOfWork, type_: str, entry: d.LedgerEntry, volunteer: d.Volunteer, **extra: Any) -> None:
    uow.record(
        make_event(
            SERVICE,
            type_,
            entry.id,
            {
                "kind": "ledger",
                "volunteerId": volunteer.id,
                "delta": entry.delta,
                "sourceKind": str(entry.source_kind),
                "sourceId": entry.source_id,
                "expiresAt": entry.expires_at.isoformat() if entry.expires_at else None,
                **extra,
            },
            path=list(volunteer.region_path),
            at=entry.at,
            id=f"ledger:{entry.id}:{type_}",
        )
    )


async def balance(cx: Context, q: w.ByVolunteer, p: Principal) -> dict:
    v = await cx.me(p, q.volunteerId)
    return cx.views.balance(v.id, d.balance(await cx.store.entries(v.id), now()))


async def history(cx: Context, q: w.ByVolunteer, p: Principal) -> dict:
    v = await cx.me(p, q.volunteerId)
    entries, total, more = await cx.store.history_page(v.id, q.first, q.after)
    return page_reply([cx.views.entry(e) for e in entries], total, more)


async def redeem(cx: Context, c: w.Redeem, p: Principal) -> dict:
    v = await cx.me(p, c.volunteerId)
    d.authorize_redeem(p, v)
    entry_id = f"REDEMPTION:{c.redemptionId}:{v.id}"

    async def work(uow: UnitOfWork) -> dict:
        done = await cx.store.entry(uow, entry_id)
        item = await cx.store.item(c.itemCode, uow)
        if item is None:
            raise NotFound(f"no reward {c.itemCode} in the catalogue")
        if done is None:
            await cx.store.lock_wallet(uow, v.id)  # one redemption per volunteer at a time
            entries = await cx.store.entries(v.id, uow)
            entry, item = d.redeem(
                entries,
                item,
                now(),
                entry_id=entry_id,
                volunteer_id=v.id,
                redemption_id=c.redemptionId,
                region_path=v.region_path,
            )
            await cx.store.take_stock(uow, item)
            await cx.store.append(uow, entry)
            await cx.store.apply(uow, [d.RollupDelta.of(entry.region_path, None, d.counters_of(entry))])
            ledger_event(uow, "POINTS_REDEEMED", entry, v, itemCode=item.code)
            entries.append(entry)
        else:
            entry, entries = done, await cx.store.entries(v.id, uow)
        return cx.views.redemption(entry, item, d.balance(entries, now()))

    result: dict = await cx.rt.transact(work)
    return result


async def expire_points(cx: Context, volunteer_id: str, at: datetime) -> int:
    """Write off what is left of the volunteer's expired lots; returns the points."""

    async def work(uow: UnitOfWork) -> int:
        v = await cx.store.volunteers.get(volunteer_id, uow)
        if v is None:  # residents' points: the ledger of a resident's account
            account = await cx.store.resident_account_by_id(volunteer_id, uow)
            if account is None:
                return 0
            await cx.store.lock_wallet(uow, account.id)
            points = await resident_points.expire(cx, uow, account, at)
            await cx.store.expiry_done(uow, account.id, at)
            return points
        await cx.store.lock_wallet(uow, v.id)
        entries = await cx.store.entries(v.id, uow)
        out = d.expire(entries, at, volunteer_id=v.id, region_path=v.region_path)
        await cx.store.append(uow, *out)
        for e in out:
            await cx.store.apply(uow, [d.RollupDelta.of(e.region_path, None, d.counters_of(e))])
            ledger_event(uow, "POINTS_EXPIRED", e, v)
        await cx.store.expiry_done(uow, v.id, at)
        return -sum(e.delta for e in out)

    written_off: int = await cx.rt.transact(work)
    return written_off


async def catalogue(cx: Context, _: None, p: Principal) -> dict:
    return {"items": [cx.views.item(i) for i in await cx.store.items()]}


def catalogue_editor(cx: Context, p: Principal, _: object = None) -> None:
    """Rewards every volunteer of the deployment redeems: a city's administrators or a superadmin."""
    require_deployment_admin(p, cx.territory.path(p.region) if p.region else None, "edit the reward catalogue")


async def catalogue_upsert(cx: Context, c: w.CatalogueInput, p: Principal) -> dict:
    item = d.CatalogueItem(code=c.code, name=c.name, cost=c.cost, stock=c.stock)
    await cx.store.put_item(item, p.sub)
    return cx.views.item(item)
