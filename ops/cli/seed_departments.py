"""The demo's departments: a directory per county (the codes and names the catalogue names), and
the case history's 派单 to departments made dispatches with 主办/协办, replies, 退单 requests
refused and approved, 延期 approved and refused, 挂起 with resume, and 督办.

`with_departments` rewrites the generated history (CaseHistory.cases) deterministically. It changes
no case's outcome: a request, a suspension or an extension is only added between a case's start and
a resolution that met its deadline with no SLA sweep on the way, so the history's own figures (what
`describe_history` reports) stay what they were, and the departments' figures are not empty.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.cases.domain import DEPARTMENTS

SEED = 16

STOPS = {"sweep", "escalate", "return", "reject"}


def directory(counties: list[str], prefix: str) -> list[dict]:
    """createDepartment payloads: every county gets the catalogue's departments."""
    return [
        {
            "code": code,
            "name": name,
            "regionId": county,
            "contacts": [{"name": f"{name}值班室", "title": "值班"}],
            "idempotencyKey": f"{prefix}:department:{county}:{code}",
        }
        for county in counties
        for code, name in DEPARTMENTS.items()
    ]


def _at(step: dict) -> datetime:
    return datetime.fromisoformat(step["at"])


def _between(a: datetime, b: datetime, f: float) -> str:
    return (a + timedelta(seconds=int((b - a).total_seconds() * f))).isoformat()


def with_departments(items: list[dict], seed: int, county_of: Callable[[str], str]) -> list[dict]:
    """The history with each assignment to a department made a dispatch (see the module)."""
    for item in items:
        # seeded by the id's key part (its first 11 characters are the report time, which moves
        # with the day the history is loaded), so a demo loaded any day gets the same departments
        rnd = random.Random(f"{seed}:departments:{item['id'][11:]}")
        steps: list[dict] = item["steps"]
        out: list[dict] = []
        i = 0
        while i < len(steps):
            s = steps[i]
            a = s.get("assignee") or {}
            if s["action"] != "assign" or a.get("kind") != "DEPARTMENT":
                out.append(s)
                i += 1
                continue
            rest = steps[i + 1 :]
            start = next((n for n, x in enumerate(rest) if x["action"] == "start"), None)
            resolve = next((n for n, x in enumerate(rest) if x["action"] == "resolve"), None)
            clean = (
                start is not None
                and resolve is not None
                and start < resolve
                and not any(x["action"] in STOPS for x in rest[:resolve])
            )
            out += decorate(rnd, s, rest, start, resolve, county_of(item["regionId"])) if clean else [dispatch(s)]
            i += 1 + ((resolve or 0) + 1 if clean else 0)
        item["steps"] = out
    return items


def dispatch(s: dict, cooperating: list[str] | None = None, lead: str | None = None) -> dict:
    return {
        "action": "dispatch",
        "at": s["at"],
        "actor": s.get("actor"),
        "lead": lead or s["assignee"]["id"],
        "cooperating": cooperating or [],
    }


def decorate(
    rnd: random.Random, s: dict, rest: list[dict], start: int | None, resolve: int | None, county: str
) -> list[dict]:
    """The dispatch and everything up to its resolution, with what the departments and the
    centre did in between."""
    assert start is not None and resolve is not None
    lead = s["assignee"]["id"]
    centre = f"op-{county}"
    others = [c for c in DEPARTMENTS if c != lead]
    t_dispatch, t_start, t_resolve = _at(s), _at(rest[start]), _at(rest[resolve])
    before: list[tuple[float, dict[str, Any]]] = []  # between dispatch and start (fraction of that time)
    during: list[tuple[float, dict[str, Any]]] = []  # between start and resolution
    co = [rnd.choice(others)] if rnd.random() < 0.35 else []
    r = rnd.random()
    if r < 0.06:  # 退单 approved: handed back and dispatched again
        new_lead = rnd.choice(others)
        before += [
            (0.2, {"action": "requestReturn", "dept": lead, "actor": f"dept-{lead}", "reason": "不属于本部门职责"}),
            (0.4, {"action": "decide", "requestKind": "RETURN", "approve": True, "actor": centre, "note": "同意退单"}),
            (0.6, {"action": "dispatch", "actor": centre, "lead": new_lead, "cooperating": []}),
        ]
        lead, co = new_lead, []
    elif r < 0.16:  # 退单 refused
        before += [
            (0.3, {"action": "requestReturn", "dept": lead, "actor": f"dept-{lead}", "reason": "建议由属地处理"}),
            (
                0.6,
                {
                    "action": "decide",
                    "requestKind": "RETURN",
                    "approve": False,
                    "actor": centre,
                    "note": "属于职责范围",
                },
            ),
        ]
    r = rnd.random()
    if r < 0.08:  # 延期 approved
        during += [
            (
                0.1,
                {
                    "action": "requestExtension",
                    "dept": lead,
                    "actor": f"dept-{lead}",
                    "reason": "需采购材料",
                    "until": (t_start + timedelta(days=20)).isoformat(),
                },
            ),
            (
                0.2,
                {"action": "decide", "requestKind": "EXTENSION", "approve": True, "actor": centre, "note": "同意延期"},
            ),
        ]
    elif r < 0.11:  # 延期 refused
        during += [
            (
                0.1,
                {
                    "action": "requestExtension",
                    "dept": lead,
                    "actor": f"dept-{lead}",
                    "reason": "人手不足",
                    "until": (t_start + timedelta(days=20)).isoformat(),
                },
            ),
            (0.2, {"action": "decide", "requestKind": "EXTENSION", "approve": False, "actor": centre}),
        ]
    elif r < 0.15:  # 挂起, then resumed
        during += [
            (0.25, {"action": "suspend", "dept": lead, "actor": f"dept-{lead}", "reason": "等待产权鉴定"}),
            (0.3, {"action": "decide", "requestKind": "SUSPENSION", "approve": True, "actor": centre}),
            (0.5, {"action": "resume", "dept": lead, "actor": f"dept-{lead}"}),
        ]
    if rnd.random() < 0.07:  # 督办 by the city
        during.append((0.4, {"action": "urge", "actor": "op-city", "note": "请加快办理"}))
    for c in co:
        during.append((0.7, {"action": "reply", "dept": c, "actor": f"dept-{c}", "note": "已配合处置"}))
    # what the departments and the centre did, in time order with the steps already there (a
    # comment, a correction): a stable sort keeps the history's own order
    out = [dispatch(s, co)]
    added = [{**x, "at": _between(t_dispatch, t_start, f)} for f, x in sorted(before, key=lambda p: p[0])]
    out += sorted(rest[:start] + added, key=_at) + [rest[start]]
    added = [{**x, "at": _between(t_start, t_resolve, f)} for f, x in sorted(during, key=lambda p: p[0])]
    out += sorted(rest[start + 1 : resolve] + added, key=_at)
    resolution = {**rest[resolve], "actor": f"dept-{lead}"}
    return out + [resolution]


async def load_departments(loader: Any, plan: Any, items: list[dict], prefix: str) -> None:
    """The directory of every county of `plan` (through `department.create`, keyed: a second run
    creates nothing), then `items`, the case history, rewritten in place by `with_departments`."""
    county = {g.id: g.path[1] for g in plan.grids}
    await loader.all("cases", "department.create", directory(sorted(set(county.values())), prefix))
    with_departments(items, SEED, county.__getitem__)
