"""Moves (shared/moves): which lists are region paths and get re-pathed, and that every kind of
record that keeps a region path is found on a move (its collection has an index on the path)."""
from __future__ import annotations

import pytest
from pymongo import AsyncMongoClient

from services.cases.store import INDEXES as CASE_INDEXES
from services.organizations import domain as od
from services.organizations.store import INDEXES as ORG_INDEXES
from services.organizations.store import OrgStore
from services.volunteers import domain as vd
from services.volunteers.store import INDEXES as VOL_INDEXES
from services.volunteers.store import VolunteerStore
from shared.moves import path_fields, repathed
from shared.records import Records

OLD, NEW = ["city", "county-a", "town-a"], ["city", "county-b", "town-a"]


def test_only_lists_that_start_with_the_old_path_change():
    doc = {"path": ["city", "county-a", "town-a", "comm-a"], "org_path": ["city", "county-a", "town-a"],
           "other": ["city", "county-a", "town-b"], "near": ["c1", "c2"], "n": 3, "name": "city",
           "nested": {"to_path": ["city", "county-a", "town-a", "comm-b"], "ids": [1, 2]},
           "items": [{"region_path": ["city", "county-a", "town-a"]}, {"x": 1}], "short": ["city", "county-a"]}
    out = repathed(doc, OLD, NEW)
    assert out["path"] == ["city", "county-b", "town-a", "comm-a"] and out["org_path"] == NEW
    assert out["nested"]["to_path"] == ["city", "county-b", "town-a", "comm-b"] and out["items"][0]["region_path"] == NEW
    for same in ("other", "near", "n", "name", "short"):
        assert out[same] is doc[same]
    assert out["items"][1] is doc["items"][1] and out["nested"]["ids"] is doc["nested"]["ids"]
    untouched = {"path": ["city", "county-b"], "x": [{"y": 1}]}
    assert repathed(untouched, OLD, NEW) is untouched


def _path_models(store: object) -> dict[str, type]:
    return {r.coll.name: r.model for r in vars(store).values() if isinstance(r, Records)}


@pytest.mark.parametrize(("indexes", "models"), [
    (ORG_INDEXES, lambda db: {**_path_models(OrgStore(db)), "life": od.LifeRecord}),
    (VOL_INDEXES, lambda db: {**_path_models(VolunteerStore(db)), "ledger": vd.LedgerEntry}),
], ids=["organizations", "volunteers"])
def test_every_record_with_a_region_path_is_found_on_a_move(indexes, models):
    db = AsyncMongoClient("mongodb://127.0.0.1:9", connect=False)["unused"]  # never connects
    found = path_fields(indexes)
    for coll, model in models(db).items():
        paths = [f for f in model.model_fields if f.endswith("path")]
        if paths:
            assert coll in found, f"{coll} keeps {paths} but no path index: a move would not find it"


def test_cases_are_found_by_their_path():
    assert path_fields(CASE_INDEXES) == {"cases": ["path"], "departments": ["region_path"]}
