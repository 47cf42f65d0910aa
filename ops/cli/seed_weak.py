"""软弱涣散 and 整顿 in the demo city (`small`): every party organisation held its organisational life
(支委会, 党课, 主题党日) over the last three months, except one grid branch whose last 三会一课 was four
months ago. The organisations are then scored by the service's own rating (`weak.rate`: the sweeper's
`Rater`, the same inputs and rules, here run at once instead of at the sweeper's next pass), which flags
that branch; its township starts a rectification plan with three tasks and a review date, and the first
task is done. Nothing writes a flag or a score directly. Idempotency keys `<prefix>:life:…`,
`<prefix>:rectification:…` make loading again add nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ops.cli.seed_links import pages

if TYPE_CHECKING:  # ops.cli.seed calls this module
    from ops.cli.seed import Loader

LIFE = (
    ("BRANCH_COMMITTEE_MEETING", "支委会：研究本月工作", 12),
    ("PARTY_LECTURE", "党课：学习贯彻党的二十届四中全会精神", 41),
    ("THEMED_PARTY_DAY", "主题党日：垃圾分类志愿服务", 70),
)
WEAK_LAST_LIFE_DAYS = 130  # the weak branch's last 三会一课
RATE_BATCH = 50  # organisations per weak.rate call (the sweeper's batch)
TASKS = (
    ("恢复落实三会一课制度，每月召开支委会", "支部书记", 14),
    ("在职党员双报到全覆盖，每人认领一项服务", "组织委员", 30),
    ("党员联户走访，每名党员联系10户", "宣传委员", 45),
)


async def seed_weak(loader: Loader, prefix: str) -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    orgs = [o async for o in pages(loader, "organizations", "org.list", {})]
    branches = sorted((o for o in orgs if o["type"] == "GRID_BRANCH"), key=lambda o: o["anchorId"])
    if not branches:
        return "no grid branch to flag"
    weak = branches[0]

    def life(org: dict[str, Any], kind: str, topic: str, days: int, n: int) -> dict[str, Any]:
        return {
            "organizationId": org["id"],
            "kind": kind,
            "topic": topic,
            "attendance": [],
            "heldAt": (now - timedelta(days=days)).isoformat(),
            "idempotencyKey": f"{prefix}:life:{org['id']}:{n}",
        }

    records = [life(weak, "BRANCH_COMMITTEE_MEETING", "支委会", WEAK_LAST_LIFE_DAYS, 0)]
    others = [o for o in orgs if o["type"] != "CENTER_HOUSEHOLD" and o["id"] != weak["id"]]
    for n, x in enumerate(LIFE):  # one round per meeting: an organisation records one at a time
        rounds = [life(o, *x, n) for o in others]
        await loader.all("organizations", "life.record", rounds)
        records += rounds
    await loader.call("organizations", "life.record", records[0])
    ids = [o["id"] for o in orgs]
    rated: dict[str, Any] = {}
    for i in range(0, len(ids), RATE_BATCH):
        rated |= (await loader.call("organizations", "weak.rate", {"ids": ids[i : i + RATE_BATCH]}))["items"]
    flagged = [i for i, s in rated.items() if isinstance(s, dict) and s.get("flagged")]
    if weak["id"] not in flagged:
        return f"{len(flagged)} organisations flagged weak, not {weak['name']} (its score: {rated.get(weak['id'])})"
    plan = await loader.call(
        "organizations",
        "rectification.start",
        {
            "organizationId": weak["id"],
            "tasks": [
                {"title": t, "responsible": who, "dueAt": (now + timedelta(days=d)).isoformat()} for t, who, d in TASKS
            ],
            "reviewAt": (now + timedelta(days=60)).isoformat(),
            "note": "连续4个月未开展组织生活，列为软弱涣散党组织，限期整顿",
            "idempotencyKey": f"{prefix}:rectification:{weak['id']}",
        },
    )
    await loader.call(
        "organizations",
        "rectification.completeTask",
        {
            "planId": plan["id"],
            "taskId": "t1",
            "note": "已召开支委会，制定整改方案",
            "idempotencyKey": f"{prefix}:rectification:{weak['id']}:t1",
        },
    )
    score = rated[weak["id"]]["score"]
    return (
        f"{len(records)} organisational-life records; {len(flagged)} organisation flagged weak "
        f"({weak['name']}, score {score}) with a rectification plan ({plan['id']})"
    )
