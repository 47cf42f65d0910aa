"""Pages in bounded work (shared.paging): a query's parts, the conditions checked on fetched
documents, the page key. The reading itself is tested on the real store
(tests/integration/test_paging_store.py)."""
from __future__ import annotations

import pytest

from shared.paging import HASH_CHARS, KEY, SPACE, Part, _position, _rounded, alternatives, matches, page_key, plan

COMBOS = [("path",), ("status", "path"), ()]


def test_page_key_spreads_ids_and_keeps_them_unique():
    keys = [page_key(f"m{i:05d}") for i in range(4000)]
    assert len(set(keys)) == 4000 and all(k.endswith(f"m{i:05d}") for i, k in enumerate(keys))
    # sequential ids land all over the key space: each quarter holds about a quarter of them
    quarters = [0, 0, 0, 0]
    for k in keys:
        quarters[_position(k) * 4 // SPACE] += 1
    assert all(800 < q < 1200 for q in quarters), quarters
    assert page_key("x") == page_key("x") and len(page_key("x")) == HASH_CHARS + 1


def test_plain_equalities_ride_the_index_with_most_of_them():
    (part,) = plan({"path": "r1", "status": "OPEN"}, COMBOS)
    assert part.eq == (("status", "OPEN"), ("path", "r1")) and part.rest == ()
    (part,) = plan({"path": "r1", "kind": "X"}, COMBOS)
    assert part.eq == (("path", "r1"),) and part.rest == (("kind", "X"),)


def test_in_and_or_become_parts_and_and_is_flattened():
    parts = plan({"path": {"$in": ["a", "b"]}, "status": "OPEN"}, COMBOS)
    assert [p.eq for p in parts] == [(("status", "OPEN"), ("path", "a")), (("status", "OPEN"), ("path", "b"))]
    parts = plan({"$or": [{"path": "a"}, {"to_path": "a"}]}, [("path",), ("to_path",)])
    assert [p.eq for p in parts] == [(("path", "a"),), (("to_path", "a"),)]
    # a field named twice (a subtree inside a subtree): one rides the index, the other is checked
    (part,) = plan({"$and": [{"path": "a"}, {"path": "b"}]}, COMBOS)
    assert part.eq == (("path", "a"),) and part.rest == (("path", "b"),)


def test_nothing_reads_nothing_and_ids_are_read_by_id():
    assert plan({"_id": {"$in": []}}, COMBOS) == []
    assert [p.eq for p in plan({"_id": {"$in": ["x", "y"]}, "path": "a"}, COMBOS)] == [(("_id", "x"),), (("_id", "y"),)]


def test_a_query_no_index_serves_or_an_unknown_operator_is_refused():
    with pytest.raises(ValueError, match="paged_index"):
        plan({"path": "a"}, [("status",)])
    with pytest.raises(ValueError, match=r"\$regex"):
        Part((), (("name", {"$regex": "x"}),)).admits({"name": "x"})
    with pytest.raises(ValueError, match=r"\$where"):
        alternatives({"$where": "1"})


@pytest.mark.parametrize(
    ("doc", "name", "cond", "expected"),
    [
        ({"path": ["c", "g"]}, "path", "g", True),
        ({"path": ["c", "g"]}, "path", "x", False),
        ({"a": None}, "a", None, True),
        ({}, "a", None, True),
        ({"a": 1}, "a", None, False),
        ({"a": 3}, "a", {"$gte": 3, "$lt": 5}, True),
        ({"a": 5}, "a", {"$gte": 3, "$lt": 5}, False),
        ({"a": "x"}, "a", {"$gt": 3}, False),
        ({"a": "x"}, "a", {"$in": ["x", "y"]}, True),
        ({"a": "z"}, "a", {"$nin": ["x", "y"]}, True),
        ({"a": "x"}, "a", {"$ne": "x"}, False),
        ({"a": 1}, "b", {"$exists": False}, True),
        ({"m": [{"v": "1"}, {"v": "2"}]}, "m.v", "2", True),
        ({"t": {"kind": "P", "id": "9"}}, "t.id", "9", True),
    ],
)
def test_conditions_checked_on_documents_mean_what_mongodb_means(doc, name, cond, expected):
    assert matches(doc, name, cond) is expected


def test_part_query_is_one_range_of_the_page_key():
    part = Part((("path", "a"),), ())
    window = {"$gte": "0000000000", "$lt": "g000000000"}
    assert part.query("0000000000", False, "g000000000") == {"path": "a", KEY: window}
    assert part.query("x", True, None) == {"path": "a", KEY: {"$gt": "x"}}


def test_estimates_are_rounded_to_two_figures():
    assert [_rounded(n) for n in (7.4, 99.6, 123.0, 12_345.0, 987_654.0)] == [7, 100, 120, 12_000, 990_000]
