"""The cases' scope rule against the real store: for principals of every role and cases placed
at random in a small territory, what a list's filter finds in SecantusDB (with the service's
indexes) is exactly what the rule's record test admits, in the caller's whole scope and in a
region asked for. The unit tests (tests/unit/test_cases_scope.py) check the same with a matcher
and against the versions the rule replaced."""
from __future__ import annotations

import random
import uuid

import pytest
from pymongo import AsyncMongoClient

from services.cases import domain as d
from services.cases.store import INDEXES, case_doc
from shared.auth import REGIONAL_ROLES, Principal, Role
from shared.errors import DomainError
from tests.unit.test_cases_scope import make_case

# A county, two townships, two grids under each: region id -> top-down path.
TREE = {"k": ["k"], "t1": ["k", "t1"], "t2": ["k", "t2"], "g1": ["k", "t1", "g1"], "g2": ["k", "t1", "g2"],
        "g3": ["k", "t2", "g3"], "g4": ["k", "t2", "g4"],
        "b1": ["k", "t1", "g1", "b1"], "b3": ["k", "t2", "g3", "b3"]}  # building: one in g1, one in g3
GRIDS = ["g1", "g2", "g3", "g4"]
BUILDING_OF = {"g1": "b1", "g3": "b3"}
SUBS = ["u1", "u2", "u3"]


@pytest.fixture
async def coll(settings):
    client: AsyncMongoClient = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    database = client[f"scope_{uuid.uuid4().hex[:8]}"]
    await database.cases.create_indexes(INDEXES["cases"])
    yield database.cases
    await client.drop_database(database.name)
    await client.close()


def principals() -> list[Principal]:
    out = []
    for role in Role:
        for region in [None, *TREE]:
            for sub in SUBS:
                for member in [None, "m1"]:
                    p = Principal(sub=sub, role=role, region=region, dept="d1" if sub == "u1" else "d2", member=member)
                    if not (p.role in REGIONAL_ROLES and not p.region):  # a token can carry it
                        out.append(p)
    return out


async def test_a_list_finds_what_the_record_test_admits(coll):
    rnd = random.Random(15)
    kinds = list(d.AssigneeKind)
    cases = []
    for i in range(240):
        kind = rnd.choice(kinds)
        assignee = rnd.choice([None, d.Assignee(kind=kind, id=rnd.choice(["d1", "d2", "m1", *SUBS]))])
        subs = rnd.sample([None, *SUBS], rnd.randint(0, 2))
        grid = rnd.choice(GRIDS)
        cases.append(make_case(i, TREE[grid], assignee, subs, rnd.choice([None, BUILDING_OF.get(grid)])))
    await coll.insert_many([case_doc(c) for c in cases])

    checked, partial = 0, 0
    leaders = [Principal(sub="u1", role=Role.BUILDING_LEADER, region=r) for r in ("b1", "b3", "g1")]
    for p in [*rnd.sample(principals(), 60), *leaders]:  # building: every leader's list, one of a grid token
        for region in [None, rnd.choice(list(TREE))]:
            try:
                query = d.list_scope(p, region, TREE[region] if region else None)
            except DomainError:
                assert region and p.role is not Role.RESIDENT and not p.can_see_path(TREE[region])
                continue
            found = {doc["_id"] async for doc in coll.find(query, {"_id": 1})}
            admitted = {c.id for c in cases if d.SCOPE.admits(p, c) and (region is None or region in c.scope_path)}
            assert found == admitted, (p, region, query)
            checked += 1
            partial += 0 < len(found) < len(cases)
    assert checked > 60 and partial > 30  # most lists ran, and most found some cases but not all


async def test_my_cases_page_by_part_as_one_list(coll):
    """`cases(mine: true)` reads what the caller reported and what is assigned to them one query
    per part (the store scans the collection for an `$or`); paged a few at a time, the merged
    list is the same set, newest first, no case twice, with the total counting a report of the
    caller's own assigned to them once."""
    from services.cases.store import CaseStore
    from shared.ids import new_id

    rnd = random.Random(17)
    store = CaseStore(coll.database)
    cases = []
    for i in range(160):
        grid = rnd.choice(GRIDS)
        kind = rnd.choice([d.AssigneeKind.GRID_WORKER, d.AssigneeKind.VOLUNTEER, d.AssigneeKind.DEPARTMENT])
        assignee = rnd.choice([None, d.Assignee(kind=kind, id=rnd.choice(["d1", "m1", *SUBS]))])
        case = make_case(i, TREE[grid], assignee, rnd.sample([None, *SUBS], rnd.randint(0, 2)))
        cases.append(case.model_copy(update={"id": new_id("c")}))
    await coll.insert_many([case_doc(c) for c in cases])
    checked = overlapping = 0
    for p in [Principal(sub="u1", role=Role.GRID_WORKER, region="g1"), Principal(sub="u2", role=Role.RESIDENT),
              Principal(sub="u1", role=Role.VOLUNTEER, member="m1", region="k"),
              Principal(sub="u3", role=Role.DEPARTMENT, region="k", dept="d1")]:
        scope = d.list_scope(p)
        keys = set(d.assignee_keys(p))
        mine = [c for c in cases if d.SCOPE.admits(p, c) and (
            p.sub in [r.sub for r in c.reporters] or (c.assignee and f"{c.assignee.kind}:{c.assignee.id}" in keys))]
        parts, both = d.mine_parts(p, scope)
        assert all("$or" not in q and "$and" not in q for q in parts)
        seen, after, totals = [], None, set()
        while True:
            docs, total, more = await store.page_any(parts, 7, after, with_total=True, overlaps=both)
            seen += [doc["_id"] for doc in docs]
            totals.add(total)
            if not more:
                break
            after = docs[-1]["_id"]
        assert seen == sorted({c.id for c in mine}, reverse=True), p
        assert totals == {len(mine)}, p
        checked += len(mine) > 7
        overlapping += any(p.sub in [r.sub for r in c.reporters] and c.assignee
                           and f"{c.assignee.kind}:{c.assignee.id}" in keys for c in mine)
    assert checked >= 3 and overlapping >= 1  # lists of several pages, and a case in two parts
