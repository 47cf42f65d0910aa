"""The demo's households (ops/cli/seed_households.py): deterministic, one per door of every building,
every one valid by the households' own rules, tags at plausible shares, batches the import takes."""
from __future__ import annotations

from collections import Counter
from datetime import date

from ops.cli import seed as s
from ops.cli import seed_households as sh
from services.grids.domain import households as hh
from shared.contracts.grids import ImportHouseholds

TODAY = date(2026, 12, 6)


def test_small_households_are_valid_deterministic_and_fill_every_building():
    plan = s.small_plan()
    items = sh.plan_households(plan, TODAY)
    assert items == sh.plan_households(plan, TODAY)
    buildings = plan.levels[5]
    assert len(items) == sum(b["attrs"]["households"] for b in buildings)
    assert {h["buildingId"] for h in items} == {b["id"] for b in buildings}
    assert len({h["key"] for h in items}) == len(items)
    assert len({(h["buildingId"], h["unit"], h["room"]) for h in items}) == len(items)
    grids = {b: g.id for g in plan.grids for b in g.buildings}
    for h in items[::3]:  # a third of them, every kind and building alike
        people = [hh.check_person(x["relation"], x["name"], x.get("phone"), x.get("idNumber"), x.get("gender"),
                                  x.get("birthYear"), TODAY) for x in (h["head"], *h["members"])]
        hh.check_persons(people[0], people[1:])
        assert hh.check_tags(h["tags"], people, TODAY) == [t for t in hh.HouseholdTag if t in h["tags"]]
        assert hh.check_place(h["unit"], h["room"]) == (h["unit"], h["room"])
        assert h["gridId"] == grids[h["buildingId"]]
    tags = Counter(t for h in items for t in h["tags"])
    share = {t: n / len(items) for t, n in tags.items()}
    assert 0.02 < share["ELDERLY_ALONE"] < 0.06 and 0.01 < share["LOW_INCOME"] < 0.04
    assert 0.1 < share["TENANT"] < 0.2 and share["LEFT_BEHIND_CHILD"] < 0.03
    for _, batch in s.batches(items, sh.BATCH):
        ImportHouseholds.model_validate({"households": batch})


def test_doors_fill_floor_by_floor():
    assert sh.doors(2, 5) == [("1", "101"), ("1", "102"), ("2", "101"), ("2", "102"), ("1", "201")]
    assert len(set(sh.doors(18, 96))) == 96
