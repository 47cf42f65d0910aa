"""A year of visits (走访) for the seeded households of the demo (`small`) and the city (`city`), loaded
through `visit.import` in batches of 500.

Each must-visit household (its tags under a default rule, 三必到五必访) is visited by its grid's worker
at that rule's rhythm, a little early or on the day, over the last year; a few (LAPSED_SHARE) were
last visited more than an interval ago, so the sweeper finds them overdue, as a real grid has some.
Households with a serious illness or a hardship get a must-attend visit now and then; others a
routine call at times. Places are inside the grid; findings are short notes of a visit's kind, never
anyone's details. The households' ids come from `household.import` itself (sending the same batches
again imports nothing and answers each key's id). Drawn from a seeded `random.Random`; keys
`<prefix>:visit:<household key>:<n>` make loading again add nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ops.cli.progress import Tick
from services.grids.domain.visit_rules import DEFAULT_RULES, ROUTINE, schedule_of

if TYPE_CHECKING:  # ops.cli.seed calls this module
    from ops.cli.seed import Grid, Loader, Plan

SEED = 20261208
BATCH = 500  # visit.import's most
YEAR = 365
LAPSED_SHARE = 0.03  # must-visit households whose last visit is past due
ROUTINE_SHARE = 0.25  # other households called on once or twice a year
OCCASIONS = {"SERIOUS_ILLNESS": "ILLNESS", "HARDSHIP": "HARDSHIP"}  # a tag, the must-attend visit it brings
NOTES = {
    "ELDERLY_ALONE": ("身体状况良好，按时服药", "独居，需定期送餐", "反映腿脚不便，已联系助老服务", "精神状态好"),
    "KEY_CONCERN": ("情绪稳定", "近况平稳，继续关注"),
    "LOW_INCOME": ("低保手续齐全", "反映就业困难，已推荐岗位", "生活基本稳定"),
    "DISABLED": ("辅具使用正常", "需上门康复指导", "生活能自理"),
    "LEFT_BEHIND_CHILD": ("学习情况良好", "祖辈照料到位"),
    "VETERAN": ("优待政策已落实", "身体健康"),
    "ILLNESS": ("住院治疗中，家属陪护", "出院在家休养"),
    "HARDSHIP": ("突发困难，已申请临时救助",),
    ROUTINE: ("入户走访，无异常", "反映楼道灯不亮", "宣传防诈骗", "核对人口信息"),
}


def _at(rnd: random.Random, day: date, zone: ZoneInfo) -> datetime:
    """A working hour of that local day."""
    return datetime.combine(day, time(rnd.randint(9, 16), rnd.randint(0, 59)), zone)


def _place(rnd: random.Random, grid: Grid) -> tuple[float, float]:
    lng0, lat0, lng1, lat1 = grid.box
    return (
        round(lng0 + (lng1 - lng0) * rnd.uniform(0.3, 0.7), 6),
        round(lat0 + (lat1 - lat0) * rnd.uniform(0.3, 0.7), 6),
    )


def visit_days(rnd: random.Random, interval: int, today: date, lapsed: bool) -> list[date]:
    """The days of a must-visit household's visits over the last year: at its rhythm, each a
    little early or on the day; a lapsed one stopped more than an interval ago."""
    end = today - timedelta(days=interval + rnd.randint(1, max(2, interval // 2))) if lapsed else today
    day = today - timedelta(days=YEAR - rnd.randint(0, interval - 1))
    days = []
    while day < end:
        days.append(day)
        day += timedelta(days=max(1, interval - rnd.randint(0, max(1, interval // 5))))
    return days


def plan_visits(plan: Plan, households: list[dict], ids: dict[str, str], today: date, zone: ZoneInfo) -> list[dict]:
    """`visit.import` items for the households (`household.import` items) whose ids are in `ids`."""
    rnd = random.Random(f"{SEED}:visits:{plan.scale}")
    grids = {g.id: g for g in plan.grids}
    grid_of = {b: g for g in plan.grids for b in g.buildings}
    items: list[dict] = []
    for h in households:
        hid = ids.get(h["key"])
        grid = grids.get(h.get("gridId") or "") or grid_of.get(h["buildingId"])
        if hid is None or grid is None:
            continue
        sched = schedule_of(h["tags"], DEFAULT_RULES)
        visits: list[tuple[date, str]] = []
        if sched is not None:
            days = visit_days(rnd, sched.interval_days, today, rnd.random() < LAPSED_SHARE)
            visits += [(d, sched.rule) for d in days]
        elif rnd.random() < ROUTINE_SHARE:
            visits += [(today - timedelta(days=rnd.randint(1, YEAR - 1)), ROUTINE) for _ in range(rnd.randint(1, 2))]
        for tag, kind in OCCASIONS.items():
            if tag in h["tags"] and rnd.random() < 0.6:
                visits.append((today - timedelta(days=rnd.randint(1, YEAR - 1)), kind))
        for n, (day, kind) in enumerate(sorted(visits)):
            lng, lat = _place(rnd, grid)
            notes = NOTES.get(kind, NOTES[ROUTINE])
            items.append(
                {
                    "key": f"{plan.prefix}:visit:{h['key']}:{n}",
                    "householdId": hid,
                    "kind": kind,
                    "at": _at(rnd, day, zone).isoformat(),
                    "visitor": grid.worker_sub,
                    "findings": rnd.choice(notes),
                    "lng": lng,
                    "lat": lat,
                }
            )
    return items


def describe(items: list[dict], households: int) -> str:
    kinds = Counter(i["kind"] for i in items)
    return (
        f"{len(items)} visits over the last year to {households} households "
        f"({kinds['ELDERLY_ALONE']} to elderly living alone, {kinds[ROUTINE]} routine)"
    )


async def household_ids(loader: Loader, households: list[dict]) -> dict[str, str]:
    """Each household key's id, from `household.import` (the batches again: nothing is imported twice)."""
    ids: dict[str, str] = {}
    for i in range(0, len(households), BATCH):
        reply = await loader.call("grids", "household.import", {"households": households[i : i + BATCH]}, timeout_s=120)
        ids |= {k: v for k, v in reply["ids"].items() if v}
    return ids


async def load_visits(loader: Loader, items: list[dict], tick: Tick) -> None:
    for i in range(0, len(items), BATCH):
        batch = items[i : i + BATCH]
        await loader.call("grids", "visit.import", {"items": batch}, timeout_s=120)
        tick(len(batch))


async def seed_visits(loader: Loader, plan: Plan, today: date, zone: ZoneInfo) -> str:
    """Plan and load a year of visits to the seeded households of `plan`; says what it loaded."""
    from ops.cli.seed_households import plan_households

    households = plan_households(plan, today)
    ids = await household_ids(loader, households)
    items = plan_visits(plan, households, ids, today, zone)
    items.sort(key=lambda i: i["at"])  # a batch's visits close in time: its day buckets are few
    await loader.phase("visits", len(items), "visits", lambda tick: load_visits(loader, items, tick))
    return describe(items, len(ids))
