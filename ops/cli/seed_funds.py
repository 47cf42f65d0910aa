"""Community funds (活动经费, seed 001: ¥200,000 a community a year) and service catalogues (五项服务)
for the seeded demo (`demo`) and city (`city`), loaded through the organizations verbs, so every
rule, rollup and event applies.

Each community (the city: the first `CITY_COMMUNITIES` by id) gets this year's fund, three
spendings by its admin (two below the approval threshold, spent at once; one above it, committed)
of which every other community's township admin has approved the big one, and a catalogue with
one service of each of the five kinds: a volunteer team of the community where it has one, else a
department. Idempotency keys (`<prefix>:fund:…`, `<prefix>:service:…`) make loading again add nothing.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from ops.cli.progress import Tick
from ops.cli.seed_links import pages, regions
from shared.errors import Conflict
from shared.identity import settings_token

if TYPE_CHECKING:  # ops.cli.seed calls this module
    from ops.cli.seed import Loader
    from shared.settings import Settings

GRANT = 200_000
CITY_COMMUNITIES = 40
SPENDINGS = (
    (3200, "党群服务中心活动物资"),
    (4800, "老年食堂餐具更新"),
    (18000, "院落修缮(一征三议两公开)"),
)
SERVICES = (
    ("CARE", "独居老人关爱探访", "TEAM", "每周上门探访, 代购药品", "社区服务站登记", "周一至周五 9:00-17:00"),
    ("PUBLIC", "楼道照明报修", "DEPARTMENT", "公共设施小修小补", "12345 热线", "全天"),
    ("GOVERNMENT", "社保医保代办", "DEPARTMENT", "党群服务中心窗口代办", "党群服务中心一楼窗口", "工作日 8:30-17:30"),
    ("MARKET", "家政保洁预约", "DEPARTMENT", "辖区家政企业上门服务", "小程序预约", "8:00-20:00"),
    ("SOCIAL", "青少年四点半课堂", "TEAM", "放学后作业辅导", "社区服务站登记", "工作日 16:30-18:30"),
)


def fund_plan(community: dict, prefix: str, year: int) -> list[dict]:
    """The fund.spend payloads of one community: deterministic for the same territory."""
    return [
        {
            "communityId": community["id"],
            "year": year,
            "amount": amount,
            "purpose": purpose,
            "target": {"kind": "OTHER"},
            "idempotencyKey": f"{prefix}:fund:{community['id']}:{year}:{n}",
        }
        for n, (amount, purpose) in enumerate(SPENDINGS)
    ]


def catalogue_plan(community: dict, team: dict | None, prefix: str) -> list[dict]:
    """The catalogue.add payloads of one community: a team of its own where it has one."""
    out = []
    for kind, title, provider, description, channel, hours in SERVICES:
        if provider == "TEAM" and team is not None:
            who = {"kind": "TEAM", "id": team["id"], "name": team["name"]}
        else:
            who = {"kind": "DEPARTMENT", "id": "COMMUNITY_OFFICE", "name": f"{community['name']}居委会"}
        out.append(
            {
                "communityId": community["id"],
                "kind": kind,
                "title": title,
                "description": description,
                "provider": who,
                "howToOrder": {"channel": channel, "hours": hours},
                "idempotencyKey": f"{prefix}:service:{community['id']}:{kind}",
            }
        )
    return out


async def first_team(loader: Loader, community_id: str) -> dict | None:
    async for team in pages(loader, "volunteers", "team.list", {"regionId": community_id}):
        return team
    return None


async def seed_funds(loader: Loader, prefix: str, settings: Settings, today: date) -> str:
    """Funds and catalogues for the seeded communities; says what it loaded."""
    communities = sorted(await regions(loader, "COMMUNITY"), key=lambda r: r["id"])
    if prefix == "city":
        communities = communities[:CITY_COMMUNITIES]
    year = today.year
    done: dict[str, Any] = {"spendings": 0, "approved": 0, "services": 0}

    def admin(region: str, tag: str) -> str:
        sub = f"{prefix}-fund-{tag}-{region}"
        return settings_token(settings, sub=sub, role="admin", region=region, ttl_s=3600)

    async def load(tick: Tick) -> None:
        for i, c in enumerate(communities):
            township = c["path"][-2]
            await loader.call("organizations", "fund.open", {"communityId": c["id"], "year": year, "granted": GRANT})
            recorder = admin(c["id"], "clerk")
            entries = [
                await loader.call("organizations", "fund.spend", p, token=recorder) for p in fund_plan(c, prefix, year)
            ]
            done["spendings"] += len(entries)
            big = entries[-1]  # above the threshold: committed until approved
            if i % 2 == 0:
                try:
                    await loader.call(
                        "organizations",
                        "fund.approve",
                        {"entryId": big["id"], "approve": True, "note": "经街道审核同意"},
                        token=admin(township, "approver"),
                    )
                    done["approved"] += 1
                except Conflict:
                    pass  # decided otherwise on an earlier load
            team = await first_team(loader, c["id"])
            for p in catalogue_plan(c, team, prefix):
                await loader.call("organizations", "catalogue.add", p)
                done["services"] += 1
            tick(1)

    await loader.phase("活动经费 and 五项服务", len(communities), "communities", load)
    return (
        f"{len(communities)} community funds of ¥{GRANT:,} with {done['spendings']} spendings "
        f"({done['approved']} approved above the threshold), {done['services']} catalogue services"
    )
