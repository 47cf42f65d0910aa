"""The demo's departments (ops/cli/seed_departments.py), without I/O: the directory, and a history whose
dispatches, replies, requests, suspensions and urges the domain accepts step by step, leaving every
region figure as the plain history has it and the departments' figures filled."""
from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, datetime, timedelta

from ops.cli import seed as s
from ops.cli.seed_departments import SEED, directory, with_departments
from services.cases import domain as d
from services.cases.domain.handling import dept_figures, dept_stats
from services.cases.importer import FollowUpSteps, apply_step
from shared.auth import Principal, Role
from shared.contracts.cases import ImportedCase

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def replay(plan: s.Plan, items: list[dict], names: dict[tuple[str, str], str]) -> list[d.Case]:
    sla, cats = dict(d.DEFAULT_SLA), {c.code: c for c in d.DEFAULT_CATALOGUE.categories}
    paths = {g.id: g.path for g in plan.grids}
    importer = Principal(sub="svc:seed", role=Role.SERVICE)
    out = []
    for raw in items:
        ic = ImportedCase.model_validate(raw)
        case = d.Case.report(id=ic.id, title=ic.title, description=ic.description, category=cats[ic.categoryCode],
                             channel=d.CaseChannel(ic.channel), region_path=paths[ic.regionId],
                             by=importer.model_copy(update={"sub": ic.reporterSub or importer.sub}),
                             now=ic.reportedAt, sla=sla, reporter_name=ic.reporterName, reporter_sub=ic.reporterSub,
                             building_id=ic.buildingId)
        at = ic.reportedAt
        followup = FollowUpSteps(lambda w: d.Routed({"path": paths[w.regionId]}, None), d.DEFAULT_CATALOGUE,
                                 d.DEFAULT_RETURN_VISIT_S)
        for step in ic.steps:
            assert at <= step.at <= NOW, (ic.id, step)
            version = case.version
            apply_step(case, step, importer.model_copy(update={"sub": step.actor or importer.sub}), ic.reporterSub,
                       sla, followup, names)
            assert case.version > version, (ic.id, step)
            at = step.at
        out.append(case)
    return out


def test_the_demo_directory_and_history_with_departments():
    plan = s.small_plan()
    counties = sorted({g.path[1] for g in plan.grids})
    entries = directory(counties, "demo")
    assert len(entries) == len(counties) * len(d.DEPARTMENTS) and len({e["idempotencyKey"] for e in entries}) == len(entries)
    names = {(e["regionId"], e["code"]): e["name"] for e in entries}
    plain = s.history_for(plan, NOW).cases()
    rewritten = with_departments(copy.deepcopy(plain), SEED, {g.id: g.path[1] for g in plan.grids}.__getitem__)
    assert with_departments(copy.deepcopy(plain), SEED, {g.id: g.path[1] for g in plan.grids}.__getitem__) == rewritten
    actions = Counter(step["action"] for c in rewritten for step in c["steps"])
    assert actions["assign"] < Counter(step["action"] for c in plain for step in c["steps"])["assign"]
    assert min(actions[a] for a in ("dispatch", "reply", "requestReturn", "requestExtension", "suspend", "decide",
                                    "resume", "urge")) > 0, actions

    before = replay(plan, plain, names)
    after = replay(plan, rewritten, names)
    # no case's outcome changed; only what the departments did is new (returns, extensions, urges)
    theirs = ("returns", "returned", "extensions", "urges")
    regions = lambda figures: {r: {k: v for k, v in c.items() if not k.startswith("dept.") and k not in theirs}  # noqa: E731
                               for r, c in figures.items()}
    assert regions(d.recount(after)) == regions(d.recount(before))
    region_figures = d.recount(after)[plan.grids[0].path[0]]
    assert min(region_figures[k] for k in theirs) > 0
    assert [(c.status, c.resolved_on_time, c.rating) for c in after] == [
        (c.status, c.resolved_on_time, c.rating) for c in before]
    city = d.recount(after)[plan.grids[0].path[0]]
    figures = {k: dept_stats(v) for k, v in dept_figures(city).items()}
    assert sum(f["received"] for f in figures.values()) >= actions["dispatch"]
    assert sum(f["returned"] for f in figures.values()) > 0 and sum(f["extensionCount"] for f in figures.values()) > 0
    assert sum(f["urgeCount"] for f in figures.values()) > 0 and sum(f["replied"] for f in figures.values()) > 0
    assert any(c.requests and c.requests[0].status == "REFUSED" for c in after)


def test_the_departments_are_the_same_whatever_day_the_demo_is_loaded():
    plan = s.small_plan()
    county = {g.id: g.path[1] for g in plan.grids}.__getitem__

    def shape(now: datetime) -> list[list[tuple]]:
        items = with_departments(s.history_for(plan, now).cases(), SEED, county)
        return [[(x["action"], x.get("lead"), tuple(x.get("cooperating") or ()), x.get("dept")) for x in c["steps"]]
                for c in items]

    assert shape(NOW) == shape(NOW + timedelta(days=17, hours=5))
