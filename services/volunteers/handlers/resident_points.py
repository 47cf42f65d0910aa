"""Residents' points verbs (rules in domain/resident_points.py): the rule table and its audited
change, awards by staff in scope and by other services (`points.residentAward`), a resident's
balance, history and redemption, and staff reads of a resident's entries in their scope. The
ledger and its write-off are the volunteers' (handlers/points.py); entries' events name the
ledger account, never the resident."""

from __future__ import annotations

from typing import Any

from services.volunteers import domain as d
from services.volunteers.handlers.common import SERVICE, Context
from shared.auth import Principal, Role, public_actor, require_deployment_admin
from shared.commands import page_reply
from shared.contracts import volunteers as w
from shared.errors import Forbidden, NotFound
from shared.ids import new_id
from shared.messaging.envelope import make_event
from shared.mongo import UnitOfWork, now
from shared.trends import city_tz


def resident_event(uow: UnitOfWork, type_: str, entry: d.LedgerEntry, by: Principal | None, **extra: Any) -> None:
    data: dict[str, Any] = {
        "kind": "ledger",
        "accountId": entry.volunteer_id,
        "delta": entry.delta,
        "sourceKind": str(entry.source_kind),
        **extra,
    }
    uow.record(
        make_event(
            SERVICE,
            type_,
            entry.id,
            data,
            path=list(entry.region_path),
            actor=public_actor(by),
            at=entry.at,
            id=f"ledger:{entry.id}:{type_}",
        )
    )


async def _save(cx: Context, uow: UnitOfWork, entry: d.LedgerEntry) -> None:
    await cx.store.append(uow, entry)
    await cx.store.apply(uow, [d.RollupDelta.of(entry.region_path, None, d.counters_of(entry))])


# -- the rule table --------------------------------------------------------------------------
async def rules(cx: Context, _: object, p: Principal) -> dict:
    table, version = await cx.store.resident_rules()
    return cx.views.resident_rules(table, version)


async def set_rules(cx: Context, c: w.SetResidentPointsRules, p: Principal) -> dict:
    """A city's administrators (or a superadmin) set the table every community awards by; audited."""
    table = d.check_rules([d.ResidentPointsRule.model_validate(r.model_dump()) for r in c.rules])
    path = cx.territory.path(p.region) if p.region else []

    async def work(uow: UnitOfWork) -> int:
        version = await cx.store.set_resident_rules(uow, table, p.sub)
        uow.record(
            make_event(
                SERVICE,
                "RESIDENT_POINTS_RULES_SET",
                "resident-points-rules",
                {"kind": "rules", "codes": [r.code for r in table], "tableVersion": version},
                path=list(path or []),
                actor=public_actor(p),
                version=version,
            )
        )
        return version

    version: int = await cx.rt.transact(work)
    return cx.views.resident_rules(table, version)


def rules_editor(cx: Context, p: Principal, _: object = None) -> None:
    """The table every community awards by: a city's administrators or a superadmin."""
    require_deployment_admin(p, cx.territory.path(p.region) if p.region else None, "set the residents' points rules")


def service_only(cx: Context, p: Principal, _: object = None) -> None:
    p.require_role(action="award residents' points as a service (points.residentAward)")


# -- awards ----------------------------------------------------------------------------------
async def award(cx: Context, c: w.AwardResidentPoints, p: Principal) -> dict:
    """Staff in scope of the place (a community, or a grid or building in it) record that a
    resident did what a rule names, once per occasion; the service (`points.residentAward`) for
    anyone anywhere. A retry with the idempotency key, or the same rule and occasion again,
    returns the first award."""
    if not p.unrestricted:
        cx.placed(p, d.Action.AWARD_RESIDENT_POINTS, c.regionId)
    path = cx.path(c.regionId, "COMMUNITY", "GRID", "BUILDING")
    community = cx.community_path(c.regionId)[-1]
    table, _ = await cx.store.resident_rules()
    rule = d.rule_of(table, c.ruleCode)
    account = await cx.store.resident_account(c.sub, create=True)
    assert account is not None  # made above

    async def work(uow: UnitOfWork) -> str:
        await cx.store.lock_wallet(uow, account.id)  # awards and redemptions of one resident in turn
        entries = await cx.store.entries(account.id, uow)
        entry = d.award_resident(
            entries,
            rule=rule,
            occasion=c.occasion,
            entry_id=new_id("rp"),
            account_id=account.id,
            community_id=community,
            region_path=path,
            now=now(),
            expiry_days=cx.rules.expiry_days,
            tz=city_tz(),
        )
        if entry is None:  # this occasion already earned it: the first award
            key = (d.SourceKind.RULE, f"{rule.code}:{c.occasion.strip()}")
            return next(e.id for e in entries if e.key == key)
        await _save(cx, uow, entry)
        resident_event(
            uow,
            "RESIDENT_POINTS_AWARDED",
            entry,
            p,
            ruleCode=rule.code,
            expiresAt=entry.expires_at.isoformat() if entry.expires_at else None,
            firstHere=entry.first_here,
        )
        return entry.id

    async def view(entry_id: str) -> dict:
        entries = await cx.store.entries(account.id)
        entry = next(e for e in entries if e.id == entry_id)
        return {"entry": cx.views.resident_entry(entry), "balance": d.balance(entries, now()), "sub": c.sub}

    return await cx.idempotent(p, "resident.award", c.idempotencyKey, work, view)


# -- reads -----------------------------------------------------------------------------------
async def _ledger_of(cx: Context, q: w.ResidentLedger, p: Principal) -> tuple[d.ResidentAccount | None, str]:
    """The account a read is of: the caller's own (a resident), or the one staff named."""
    own = p.role is Role.RESIDENT and (q.sub is None or q.sub == p.sub)
    d.resident_ledger_reader(p, own)
    sub = p.sub if own else q.sub
    if not sub:
        raise Forbidden("name the resident (`sub`) whose points to read")
    return await cx.store.resident_account(sub), sub


async def balance(cx: Context, q: w.ResidentLedger, p: Principal) -> dict:
    account, sub = await _ledger_of(cx, q, p)
    entries = await cx.store.entries(account.id) if account else []
    shown = [e for e in entries if d.in_ledger_scope(p, e.region_path)] if p.role is not Role.RESIDENT else entries
    if p.role is not Role.RESIDENT and not p.unrestricted and not shown:
        raise Forbidden(f"resident {sub} has no points in your area")
    return {"sub": sub, "balance": d.balance(entries, now()), "earnedHere": sum(e.delta for e in shown if e.delta > 0)}


async def history(cx: Context, q: w.ResidentLedger, p: Principal) -> dict:
    account, sub = await _ledger_of(cx, q, p)
    if account is None:
        if p.role is Role.RESIDENT or p.unrestricted:
            return page_reply([], 0, False)
        raise Forbidden(f"resident {sub} has no points in your area")

    def shown(e: d.LedgerEntry) -> bool:
        return p.role is Role.RESIDENT or d.in_ledger_scope(p, e.region_path)

    entries, total, more = await cx.store.ledger_page(account.id, q.first, q.after, shown)
    if total == 0 and p.role is not Role.RESIDENT and not p.unrestricted:
        raise Forbidden(f"resident {sub} has no points in your area")
    return page_reply([cx.views.resident_entry(e) for e in entries], total, more)


# -- redemption ------------------------------------------------------------------------------
async def redeem(cx: Context, c: w.RedeemResidentPoints, p: Principal) -> dict:
    """A resident spends their own points on a catalogue item (a retry with the same
    redemptionId redeems once); counted at the community they name, else where they last earned."""
    cx.gate(p, d.Action.REDEEM_RESIDENT_POINTS)
    account = await cx.store.resident_account(p.sub)
    if account is None:
        raise NotFound("you have no points yet")
    place = cx.community_path(c.regionId) if c.regionId else None
    entry_id = f"REDEMPTION:{c.redemptionId}:{account.id}"

    async def work(uow: UnitOfWork) -> dict:
        done = await cx.store.entry(uow, entry_id)
        item = await cx.store.item(c.itemCode, uow)
        if item is None:
            raise NotFound(f"no reward {c.itemCode} in the catalogue")
        if done is None:
            await cx.store.lock_wallet(uow, account.id)
            entries = await cx.store.entries(account.id, uow)
            entry, item = d.redeem(
                entries,
                item,
                now(),
                entry_id=entry_id,
                volunteer_id=account.id,
                redemption_id=c.redemptionId,
                region_path=place or d.redemption_place(entries),
                resident=True,
            )
            await cx.store.take_stock(uow, item)
            await _save(cx, uow, entry)
            resident_event(uow, "RESIDENT_POINTS_REDEEMED", entry, p, itemCode=item.code)
            entries.append(entry)
        else:
            entry, entries = done, await cx.store.entries(account.id, uow)
        return {
            "entry": cx.views.resident_entry(entry),
            "item": cx.views.item(item),
            "balance": d.balance(entries, now()),
        }

    result: dict = await cx.rt.transact(work)
    return result


async def expire(cx: Context, uow: UnitOfWork, account: d.ResidentAccount, at: Any) -> int:
    """Write off what is left of a resident's expired lots, each where it was earned (in the
    sweeper's transaction, the wallet locked)."""
    entries = await cx.store.entries(account.id, uow)
    out = d.expire(entries, at, volunteer_id=account.id, region_path=None)
    for e in out:
        await _save(cx, uow, e)
        resident_event(uow, "RESIDENT_POINTS_EXPIRED", e, None)
    return -sum(e.delta for e in out)
