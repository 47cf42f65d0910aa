"""红色业委会, 居委会, 三方联动 and branches outside the territorial chain for the demo city: in the first
demo community its 居委会, a red owners' committee of an estate (filed by the community's 社区党委,
candidates vetted, two party members elected among its members), a 三方联动 meeting whose first item
became a 物业纠纷 case and whose second was put forward as a proposal; and four non-territorial branches
(an agency's, an enterprise's, the property company's and a market's) twinned with the community, three
of whose units registered with it (单位报到) with commitments and a service delivered. Loaded through the
service's own verbs (every rule, rollup and event applies); creating calls carry idempotency keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # ops.cli.seed calls this module
    from ops.cli.seed import Loader

COMMUNITY, COUNTY, TOWNSHIP = "demo-k0t0m0", "demo-k0", "demo-k0t0"
ESTATE, BUILDINGS = "滨河花园", ["demo-k0t0m0g0b0", "demo-k0t0m0g0b1", "demo-k0t0m0g1b0"]
SIDES = (
    ("社区居委会主任", "RESIDENTS_COMMITTEE"),
    ("物业项目经理", "PROPERTY_COMPANY"),
    ("业委会主任", "OWNERS_COMMITTEE"),
)
# (unit name, unit kind, where the unit is, branch type, 单位报到 commitments: none = not registered)
BRANCHES = (
    ("云河县民政局", "AGENCY", COUNTY, "AGENCY", ["政策宣讲进小区", "困难群众结对帮扶"]),
    ("云河智造科技有限公司", "ENTERPRISE", TOWNSHIP, "ENTERPRISE", ["技能培训", "就业岗位推荐"]),
    ("滨河商圈管理有限公司", "ENTERPRISE", COMMUNITY, "MARKET", None),  # no activity yet: idle once the period passes
)


async def seed_committees(loader: Loader, prefix: str = "demo") -> str:
    org = lambda verb, body: loader.call("organizations", verb, body)  # noqa: E731
    committee = (await org("org.list", {"regionId": COMMUNITY, "type": "COMMUNITY_COMMITTEE", "first": 1}))["items"][0]
    company = (await org("unit.list", {"regionId": COMMUNITY, "kind": "PROPERTY_COMPANY", "first": 1}))["items"][0]
    members = (await org("member.list", {"regionId": COMMUNITY, "first": 3}))["items"]
    today = datetime.now(UTC).date()
    await org(
        "residents.record",
        {
            "communityId": COMMUNITY,
            "name": "滨河社区居民委员会",
            "termStart": date(today.year - 1, 1, 1).isoformat(),
            "termEnd": date(today.year + 3, 12, 31).isoformat(),
            "members": [
                {"name": "周建华", "role": "主任"},
                {"name": "吴晓梅", "role": "副主任"},
                {"name": "郑国强", "role": "委员"},
            ],
        },
    )
    oc = await red_committee(loader, committee["id"], members, today, prefix)
    held = datetime.now(UTC) - timedelta(days=2)
    meeting = await org(
        "threeParty.record",
        {
            "ownersCommitteeId": oc["id"],
            "propertyCompanyId": company["id"],
            "heldAt": held.isoformat(),
            "minutes": "三方议定：地下车库漏水由物业一周内维修并报业委会验收；加装电梯按一征三议提交社区党委。",
            "attendees": [{"name": n, "side": s} for n, s in SIDES],
            "items": [
                {
                    "title": "地下车库漏水维修",
                    "case": {
                        "categoryCode": "DISPUTE_PROPERTY",
                        "gridId": f"{COMMUNITY}g0",
                        "description": "车库顶板渗水，业主多次反映",
                        "buildingId": BUILDINGS[0],  # the estate's: its 物业纠纷 count
                    },
                },
                {"title": "老旧楼栋加装电梯", "proposal": True},
            ],
            "idempotencyKey": f"{prefix}:three-party:{ESTATE}",
        },
    )
    branches = await outside_branches(loader, company, today, prefix)
    case = meeting["items"][0].get("caseId") or "pending"
    return (
        f"committees: a red owners' committee of {ESTATE} ({oc['partySeats']} of {len(oc['electedIds'])} seats "
        f"party members), a 居委会, a 三方联动 meeting (case {case}), {branches} branches outside the chain"
    )


async def red_committee(loader: Loader, committee_id: str, members: list[dict], today: date, prefix: str) -> dict:
    """Filed, vetted and elected: the community's party members and two owners who are not."""
    org = lambda verb, body: loader.call("organizations", verb, body)  # noqa: E731
    candidates = [{"name": m["name"], "memberId": m["id"]} for m in members[:2]]
    candidates += [{"name": "孙立新", "phone": "13500001111"}, {"name": "冯秀兰", "phone": "13500002222"}]
    oc = await org(
        "committee.create",
        {
            "communityId": COMMUNITY,
            "estate": ESTATE,
            "buildingIds": BUILDINGS,
            "filedByOrgId": committee_id,
            "filedOn": (today - timedelta(days=60)).isoformat(),
            "seats": 5,
            "candidates": candidates,
            "idempotencyKey": f"{prefix}:owners-committee:{ESTATE}",
        },
    )
    if oc["status"] != "PROPOSED":  # loaded before
        return oc
    for c in oc["candidates"]:
        party = c["memberId"] is not None
        for check, passed, note in (
            ("NO_ARREARS", True, "物业费已缴清"),
            ("RESIDENCY", True, "本小区业主，房产证已核"),
            ("PARTY_MEMBERSHIP", party, "党员信息已核" if party else "群众"),
        ):
            oc = await org(
                "committee.vet",
                {"id": oc["id"], "candidateId": c["id"], "check": check, "passed": passed, "note": note},
            )
    return await org(
        "committee.elect",
        {
            "id": oc["id"],
            "candidateIds": [c["id"] for c in oc["candidates"]],
            "termStart": (today - timedelta(days=30)).isoformat(),
            "termEnd": (today + timedelta(days=5 * 365)).isoformat(),
        },
    )


async def outside_branches(loader: Loader, company: dict, today: date, prefix: str) -> int:
    """Branches of an agency, an enterprise, the property company and a market, each twinned with
    the community; the agency's and the enterprise's units register with it and deliver a service."""
    org = lambda verb, body: loader.call("organizations", verb, body)  # noqa: E731
    made: list[tuple[dict, dict, list[str] | None]] = []
    for i, (name, kind, region, org_type, commitments) in enumerate(BRANCHES):
        unit = await org(
            "unit.register",
            {"name": name, "kind": kind, "regionId": region, "idempotencyKey": f"{prefix}:outside-unit:{i}"},
        )
        made.append((unit, {"type": org_type, "region": region, "name": f"{name}党支部"}, commitments))
    made.append((company, {"type": "PROPERTY_COMPANY", "region": COMMUNITY, "name": f"{company['name']}党支部"}, None))
    for i, (unit, spec, commitments) in enumerate(made):
        branch = await org(
            "org.create",
            {
                "name": spec["name"],
                "type": spec["type"],
                "anchorId": spec["region"],
                "unitId": unit["id"],
                "idempotencyKey": f"{prefix}:outside-branch:{i}",
            },
        )
        await twin(loader, branch["id"])
        if commitments is None:
            continue
        reg = await org(
            "unitReg.register",
            {
                "unitId": unit["id"],
                "communityId": COMMUNITY,
                "commitments": commitments,
                "idempotencyKey": f"{prefix}:unit-reg:{i}",
            },
        )
        if not reg["services"]:
            at = datetime.now(UTC) - timedelta(days=3 + i)
            await org(
                "unitReg.service", {"id": reg["id"], "what": f"{commitments[0]}（{at:%m月%d日}）", "at": at.isoformat()}
            )
        if spec["type"] == "AGENCY":  # its in-service member reports to the community where they live (双报到)
            worker = await org("member.register", agency_member(branch["id"], prefix))
            if not worker.get("dualRegistration"):
                await org("dual.register", {"memberId": worker["id"], "communityId": COMMUNITY})
    return len(made)


async def twin(loader: Loader, branch_id: str) -> Any:
    from shared.errors import Conflict

    try:
        return await loader.call("organizations", "twin.register", {"branchId": branch_id, "communityId": COMMUNITY})
    except Conflict:  # loaded before
        return None


def agency_member(org_id: str, prefix: str) -> dict:
    return {
        "name": "陈志远",
        "gender": "MALE",
        "birthDate": "1984-06-12",
        "joinDate": "2008-07-01",
        "category": "IN_SERVICE",
        "organizationId": org_id,
        "homeBuildingId": BUILDINGS[0],
        "idempotencyKey": f"{prefix}:outside-member:0",
    }
