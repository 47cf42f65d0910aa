"""一征三议两公开 for the seeded demo (`small`) and city (`city`): in a few communities, residents'
proposals at every stage a fresh stack can reach, loaded through the service's own verbs (every rule,
rollup and event applies): collected with residents' support, proposed, discussed with minutes,
decided by a representatives' vote with quorum, published with an objection, and one rejected.

Implementation and the result notice come after the notice period (`YIWANG_NOTICE_PERIOD_S`, a week
by default), so the walkthrough moves a proposal there itself. Residents are principals of their own
(`<prefix>-resident-…`); idempotency keys (`<prefix>:proposal:…`) make loading again add nothing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ops.cli.progress import Tick

if TYPE_CHECKING:  # ops.cli.seed calls this module
    from ops.cli.seed import Loader
    from shared.settings import Settings

COMMUNITIES = {"demo": 2, "city": 6}
NAMES = ["张秀兰", "李建华", "王桂芳", "刘德明", "陈玉珍", "杨志强"]
ROLL = ["王建国", "李秀英", "张伟", "刘芳", "陈静", "杨军", "赵敏", "黄磊", "周婷"]
# (title, body, the stage it is brought to)
PROPOSALS = [
    ("修缮3号院路面", "3号院路面破损，雨天积水，老人出行不便", "NOTICED"),
    ("增设电动车充电桩", "楼道飞线充电隐患大，建议在小区集中设置充电桩", "DECIDED"),
    ("加装电梯", "多层住宅老人多，上下楼困难，申请加装电梯", "DISCUSSED"),
    ("楼道照明改造", "单元楼道灯常坏，建议改为声控节能灯", "PROPOSED"),
    ("增设休闲座椅", "小广场缺少座椅，建议增设", "COLLECTED"),
    ("开放学校操场", "希望周末开放学校操场供居民锻炼", "REJECTED"),
]
ORDER = ["COLLECTED", "PROPOSED", "DISCUSSED", "DECIDED", "NOTICED"]


async def communities(loader: Loader, count: int) -> list[dict]:
    page = await loader.call("grids", "region.list", {"level": "COMMUNITY", "first": 100})
    return sorted(page["items"], key=lambda r: r["id"])[:count]


async def seed_proposals(loader: Loader, prefix: str, settings: Settings) -> str:
    """Proposals in the first communities of the territory; says what it loaded."""
    from shared.identity import settings_token

    def resident(n: int) -> str:
        return settings_token(settings, sub=f"{prefix}-resident-{n:03d}", role="resident", ttl_s=3600)

    places = await communities(loader, COMMUNITIES.get(prefix, 2))
    loaded: dict[str, int] = {}

    async def one(community: dict, i: int, title: str, body: str, stage: str) -> None:
        key = f"{prefix}:proposal:{community['id']}:{i}"

        async def call(verb: str, payload: dict[str, Any], token: str | None = None) -> Any:
            return await loader.call("organizations", verb, payload, token=token)

        p = await call(
            "proposal.submit",
            {
                "communityId": community["id"],
                "title": title,
                "body": body,
                "proposerName": NAMES[(i - 1) % len(NAMES)],
                "idempotencyKey": key,
            },
            resident(i),
        )
        for n in range(1, 4 + i % 3):
            await call("proposal.support", {"id": p["id"]}, resident(10 * i + n))
        if stage == "REJECTED":
            await call(
                "proposal.advance",
                {
                    "id": p["id"],
                    "to": "REJECTED",
                    "reason": "不属于社区议事范围，已转交学校协商",
                    "idempotencyKey": f"{key}:rejected",
                },
            )
        for step in ORDER[1 : ORDER.index(stage) + 1] if stage in ORDER else []:
            if step == "DECIDED":
                await call(
                    "proposal.vote",
                    {
                        "id": p["id"],
                        "roll": ROLL,
                        "attendees": ROLL[:7],
                        "votesFor": 6,
                        "votesAgainst": 1,
                        "idempotencyKey": f"{key}:vote",
                    },
                )
                continue
            body_of = {
                "PROPOSED": {},
                "DISCUSSED": {"minutes": f"两委会议商议“{title}”，同意提交居民代表会议表决"},
                "NOTICED": {"noticeText": f"经居民代表会议表决通过：{title}。公示期内如有异议请向社区党委反映"},
            }
            reply = await call(
                "proposal.advance", {"id": p["id"], "to": step, **body_of[step], "idempotencyKey": f"{key}:{step}"}
            )
            if step == "NOTICED":
                await call(
                    "notice.object",
                    {"noticeId": reply["notices"][0]["id"], "text": "希望施工避开早晚高峰"},
                    resident(99),
                )
        loaded[stage] = loaded.get(stage, 0) + 1

    async def load(tick: Tick) -> None:
        for c in places:
            await asyncio.gather(*(one(c, i, *x) for i, x in enumerate(PROPOSALS, 1)))
            tick(1)

    await loader.phase("居民议事 proposals", len(places), "communities", load)
    stages = ", ".join(f"{n} {s}" for s, n in sorted(loaded.items()))
    return f"{sum(loaded.values())} residents' proposals in {len(places)} communities ({stages})"
