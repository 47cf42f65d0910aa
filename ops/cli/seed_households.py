"""Households (实有人口) for every building of the demo (`small`) and the city (`city`): drawn from a
seeded `random.Random`, loaded through `household.import` in batches of 500.

Each building's `attrs` say its floors and how many households live in it (the territory plan
draws them); the households fill its doors floor by floor, unit by unit (two or three doors per
unit and floor). A household is one of a few kinds, with the shares a city's 实有人口 has
(roughly, and synthetic): families of two generations, old couples (空巢), elderly living alone
(独居老人, a few percent), grandparents with a left-behind grandchild (留守儿童), tenants (租户);
over those, 低保, 残疾, 退役军人, 重病, 困难 and 重点关注 tags at low rates. Names come from the
seed's name lists, phones are patterned (`1xx` and a counter), ID numbers are synthetic with a
valid check character: none is a real person. Keys are `<prefix>:hh:<building>:<unit>:<room>`, so
loading again imports nothing twice.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from typing import Any

from ops.cli.progress import Tick
from ops.cli.seed import Loader, Plan, batches, id_number, no_tick, person, phone

SEED = 20261206
BATCH = 500  # household.import's most
KINDS = (  # kind, weight (percent)
    ("FAMILY", 55),
    ("COUPLE", 12),
    ("EMPTY_NEST", 10),
    ("ELDERLY_ALONE", 4),
    ("LEFT_BEHIND", 1),
    ("TENANT", 14),
    ("SINGLE", 4),
)
EXTRA_TAGS = (  # tag, percent of households, who may hold it
    ("LOW_INCOME", 2.5),
    ("DISABLED", 3.0),
    ("VETERAN", 3.0),
    ("SERIOUS_ILLNESS", 1.5),
    ("HARDSHIP", 1.0),
    ("KEY_CONCERN", 1.0),
)


def _person(rnd: random.Random, relation: str, age: tuple[int, int], today: date, n: int, area: str) -> dict:
    birth = today - timedelta(days=rnd.randint(age[0] * 365 + 1, age[1] * 365 + 300))
    out: dict[str, Any] = {"relation": relation, "name": person(rnd)}
    if birth.year >= today.year - 16 and rnd.random() < 0.5:
        out["birthYear"] = birth.year  # a child's ID number is often not on file
    else:
        out["idNumber"] = id_number(area, birth, n)
    if relation in ("HEAD", "SPOUSE", "TENANT") or (age[0] >= 18 and rnd.random() < 0.6):
        out["phone"] = phone("1580", n)
    return out


def _people(rnd: random.Random, kind: str, today: date, n: int, area: str) -> tuple[list[dict], list[str]]:
    """The head and the members of one household of `kind`, and the tags the kind gives."""

    def p(relation: str, lo: int, hi: int) -> dict:
        nonlocal n
        n += 1
        return _person(rnd, relation, (lo, hi), today, n, area)

    if kind == "ELDERLY_ALONE":
        return [p("HEAD", 66, 92)], ["ELDERLY_ALONE"]
    if kind == "EMPTY_NEST":
        return [p("HEAD", 62, 88), p("SPOUSE", 60, 86)], ["EMPTY_NEST"]
    if kind == "LEFT_BEHIND":
        return [p("HEAD", 58, 78), p("SPOUSE", 56, 76), p("GRANDCHILD", 4, 14)], ["LEFT_BEHIND_CHILD"]
    if kind == "SINGLE":
        return [p("HEAD", 22, 58)], []
    if kind == "COUPLE":
        return [p("HEAD", 24, 60), p("SPOUSE", 24, 60)], []
    if kind == "TENANT":
        people = [p("HEAD", 20, 50)] + [p("TENANT", 20, 50) for _ in range(rnd.choice((0, 0, 1, 2)))]
        return people, ["TENANT"]
    people = [p("HEAD", 30, 58)]
    if rnd.random() < 0.9:
        people.append(p("SPOUSE", 28, 58))
    people += [p("CHILD", 1, 28) for _ in range(rnd.choices((0, 1, 2, 3), (10, 55, 30, 5))[0])]
    if rnd.random() < 0.2:
        people.append(p("PARENT", 60, 88))
    return people, []


def _family_names(people: list[dict]) -> list[dict]:
    """Children and grandchildren take the head's surname."""
    surname = people[0]["name"][0]
    for x in people[1:]:
        if x["relation"] in ("CHILD", "GRANDCHILD"):
            x["name"] = surname + x["name"][1:]
    return people


def doors(floors: int, count: int) -> list[tuple[str, str]]:
    """(unit, room) for `count` households over `floors` floors: two or three doors per unit and floor."""
    floors = max(floors, 1)
    per_floor = -(-count // floors)
    units = max(1, -(-per_floor // 2))
    per_unit = -(-per_floor // units)
    out = [
        (str(u), f"{f}{d:02d}")
        for f in range(1, floors + 1)
        for u in range(1, units + 1)
        for d in range(1, per_unit + 1)
    ]
    return out[:count]


def plan_households(plan: Plan, today: date, seed: int = SEED, share: float = 1.0) -> list[dict]:
    """`household.import` items for every building of `plan` (`share` of each building's households)."""
    rnd = random.Random(f"{seed}:households:{plan.scale}")
    grid_of = {b: g.id for g in plan.grids for b in g.buildings}
    items: list[dict] = []
    n = 0
    kinds, weights = zip(*KINDS, strict=True)
    for b in plan.levels[5]:
        attrs = b.get("attrs") or {}
        count = max(1, round(int(attrs.get("households") or 12) * share))
        area = "429801" if plan.scale == "small" else "4298" + b["id"].split("-k")[1][0].zfill(2)
        for unit, room in doors(int(attrs.get("floors") or 6), count):
            kind = rnd.choices(kinds, weights)[0]
            people, tags = _people(rnd, kind, today, n, area)
            _family_names(people)
            n += len(people)
            for tag, percent in EXTRA_TAGS:
                if rnd.random() * 100 < percent:
                    tags.append(tag)
            items.append(
                {
                    "key": f"{plan.prefix}:hh:{b['id']}:{unit}:{room}",
                    "buildingId": b["id"],
                    "gridId": grid_of.get(b["id"]),
                    "unit": unit,
                    "room": room,
                    "head": people[0],
                    "members": people[1:],
                    "tags": tags,
                }
            )
    return items


def describe(items: list[dict]) -> str:
    tags = Counter(t for h in items for t in h["tags"])
    residents = sum(1 + len(h["members"]) for h in items)
    return (
        f"{len(items)} households ({residents} residents; {tags['ELDERLY_ALONE']} elderly living alone, "
        f"{tags['LOW_INCOME']} 低保, {tags['LEFT_BEHIND_CHILD']} with a left-behind child)"
    )


async def load_households(loader: Loader, items: list[dict], tick: Tick = no_tick) -> None:
    async def one(batch: list[dict]) -> None:
        await loader.call("grids", "household.import", {"households": batch}, timeout_s=120)
        tick(len(batch))

    for _, batch in batches(items, BATCH):
        await one(batch)


async def seed_households(loader: Loader, plan: Plan, today: date) -> str:
    """Plan and load the households of `plan`, as one phase of the seed; says what it loaded."""
    items = plan_households(plan, today)
    await loader.phase("households", len(items), "households", lambda tick: load_households(loader, items, tick))
    return describe(items)
