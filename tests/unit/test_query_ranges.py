"""Every range "before a time" in a store query has a lower bound too (`shared.records.until`).

The embedded store walks a range without a lower bound from the start of the field's index, where
the documents without a value (null) sort: the cases sweeper's `{sweep_at: {$lte: now}}` read every
closed case five times a minute. This test reads the source of the services, the gateway, the
shared package and the tools, and names every query literal that still bounds a field from above
only. `_id` is exempt (it is never null), and so are operators inside expressions (`$expr`) and a
range whose line, or the line above, says why it may be one-sided (`# one-sided: ...`)."""
from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

from shared.records import EARLIEST, until

ROOT = Path(__file__).resolve().parents[2]
UPPER, LOWER = {"$lt", "$lte"}, {"$gt", "$gte", "$eq"}


def keys(node: ast.Dict) -> set[str]:
    return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}


def one_sided(node: ast.AST) -> bool:
    return isinstance(node, ast.Dict) and bool(keys(node) & UPPER) and not keys(node) & LOWER


def offenders(source: str) -> list[int]:
    """Lines of `{field: {"$lt": x}}` and `q[field] = {"$lt": x}` with no lower bound beside it."""
    lines, text = [], source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                field = k.value if isinstance(k, ast.Constant) else None
                if one_sided(v) and not (isinstance(field, str) and (field == "_id" or field.startswith("$"))):
                    lines.append(v.lineno)
        elif isinstance(node, ast.Assign) and one_sided(node.value):
            target = node.targets[0]
            if isinstance(target, ast.Subscript) and not (
                isinstance(target.slice, ast.Constant) and target.slice.value == "_id"
            ):
                lines.append(node.value.lineno)
    return [n for n in lines if not any("# one-sided:" in t for t in text[max(0, n - 3) : n])]


def test_every_query_range_before_a_time_has_a_lower_bound():
    found = []
    for top in ("services", "shared", "gateway", "ops"):
        for path in sorted((ROOT / top).rglob("*.py")):
            found += [f"{path.relative_to(ROOT)}:{line}" for line in offenders(path.read_text(encoding="utf-8"))]
    assert not found, "ranges with an upper bound only (use shared.records.until): " + ", ".join(found)


def test_the_guard_sees_what_it_looks_for():
    assert offenders('q = {"due": {"$lte": t}}') == [1]
    assert offenders('q["at"] = {"$lt": t}') == [1]
    assert offenders('q = {"due": {"$gte": a, "$lte": t}}') == []
    assert offenders('q = {"_id": {"$lt": after}}') == []
    assert offenders('q = {"$expr": {"$lt": ["$a", "$b"]}}') == []
    assert offenders('q = {"due": until(t)}') == []
    assert offenders('# one-sided: a version\nq = {"v": {"$lt": v}}') == []


def test_until_is_the_same_range_with_the_earliest_date_below():
    t = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)
    assert until(t) == {"$gte": EARLIEST, "$lte": t}
    assert until(t, inclusive=False) == {"$gte": EARLIEST, "$lt": t}
    assert EARLIEST <= datetime(1970, 1, 1, tzinfo=UTC)
