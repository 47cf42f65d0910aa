"""The scope rule against a real store: for every kind of principal, the records a scope's
MongoDB filter finds in SecantusDB are exactly those its test admits (array fields, `$in`,
`$or`, `$and` as the store reads them)."""
from __future__ import annotations

import itertools
import random
import uuid

import pytest
from pymongo import AsyncMongoClient

from shared.auth import Principal, Role
from shared.scope import EVERYTHING, NOTHING, Eq, In, Scope
from tests.unit.test_scope import REGIONS, RULES, SUBS


def forest(rnd: random.Random) -> dict[str, list[str]]:
    paths: dict[str, list[str]] = {}
    for r in REGIONS:
        parent = rnd.choice([None, *paths])
        paths[r] = [*paths[parent], r] if parent else [r]
    return paths


def records(rnd: random.Random, tree: dict[str, list[str]], n: int) -> list[dict]:
    keys = [f"{k}:{x}" for k in ("DEPARTMENT", "VOLUNTEER", "GRID_WORKER") for x in ("d1", "m1", *SUBS)]
    out = []
    for i in range(n):
        leaf = rnd.choice(REGIONS)
        doc = {"_id": f"x{i:04d}", "path": tree[leaf], "region_id": leaf,
               "reporterSubs": rnd.sample(SUBS, rnd.randint(0, 2))}
        for name, values in (("assigneeKey", keys), ("resident_sub", SUBS), ("sub", SUBS)):
            if rnd.random() < 0.7:  # else absent, as in stored records that never had it
                doc[name] = rnd.choice(values)
        out.append(doc)
    return out


def principals() -> list[Principal]:
    out = []
    for role, region, sub in itertools.product(Role, [None, *REGIONS[:4]], SUBS[:2]):
        if role in (Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.DEPARTMENT, Role.VOLUNTEER) and not region:
            continue  # no token carries it
        out.append(Principal(sub=sub, role=role, region=region, dept="d1", member="m1"))
    return out


def combinations(rnd: random.Random, n: int) -> list[Scope]:
    def atom() -> Scope:
        field = rnd.choice(["path", "region_id", "assigneeKey", "reporterSubs", "sub"])
        values = [*REGIONS, *SUBS, "DEPARTMENT:d1", "VOLUNTEER:m1"]
        return rnd.choice([EVERYTHING, NOTHING, Eq(field, rnd.choice(values)),
                           In(field, rnd.sample(values, rnd.randint(0, 3)))])

    def scope(depth: int) -> Scope:
        if depth == 0 or rnd.random() < 0.3:
            return atom()
        a, b = scope(depth - 1), scope(depth - 1)
        return a & b if rnd.random() < 0.5 else a | b

    return [scope(3) for _ in range(n)]


@pytest.fixture
async def coll(settings):
    client: AsyncMongoClient = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    db = client[f"scope_{uuid.uuid4().hex[:8]}"]
    yield db.records
    await client.drop_database(db.name)
    await client.close()


async def test_the_store_finds_what_the_scope_admits(coll):
    rnd = random.Random(20261206)
    docs = records(rnd, forest(rnd), 400)
    await coll.insert_many(docs)
    scopes = [rule.of(p) for rule in RULES for p in principals()] + combinations(rnd, 150)
    for scope in scopes:
        found = {d["_id"] async for d in coll.find(scope.filter(), {"_id": 1})}
        admitted = {d["_id"] for d in docs if scope.admits(d)}
        assert found == admitted, (scope, scope.filter())
