"""The gateway's schema only grows: tests/schema.graphql is the SDL front ends were built
against, and nothing in it may be removed, renamed or retyped. A change that only adds
(types, fields, interfaces, enum values) passes; the diff is printed either way on failure."""
from __future__ import annotations

import difflib
from pathlib import Path

from graphql import build_schema as parse_sdl
from graphql.utilities import DangerousChangeType, find_breaking_changes, find_dangerous_changes

from gateway.sdl import sdl

# "Dangerous" in graphql-core's terms, but additions: a client that does not ask for them sees no change.
ADDITIONS = {DangerousChangeType.IMPLEMENTED_INTERFACE_ADDED, DangerousChangeType.OPTIONAL_ARG_ADDED,
             DangerousChangeType.VALUE_ADDED_TO_ENUM, DangerousChangeType.TYPE_ADDED_TO_UNION}
BASELINE = Path(__file__).resolve().parents[1] / "schema.graphql"
REGENERATE = "`.venv/bin/python -m gateway.sdl > tests/schema.graphql`"


def _diff(old: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        "tests/schema.graphql", "the gateway's schema", n=1))


def test_the_schema_removes_and_changes_nothing_of_the_baseline():
    old, new = BASELINE.read_text(encoding="utf-8"), sdl()
    old_schema, new_schema = parse_sdl(old), parse_sdl(new)
    changes = [f"{c.type.name}: {c.description}" for c in find_breaking_changes(old_schema, new_schema)]
    changes += [f"{c.type.name}: {c.description}" for c in find_dangerous_changes(old_schema, new_schema)
                if c.type not in ADDITIONS]
    assert not changes, ("the gateway's schema breaks what front ends rely on (tests/schema.graphql):\n"
                         + "\n".join(changes) + "\n" + _diff(old, new)[:6000])


def test_the_baseline_is_current():
    """Additions are fine, but they are recorded: regenerate the baseline when the schema grows."""
    old, new = BASELINE.read_text(encoding="utf-8"), sdl()
    diff = _diff(old, new)
    assert not diff, (f"the gateway's schema differs from tests/schema.graphql; if the change is meant "
                      f"(additions only, see the test above), run {REGENERATE} and commit it:\n" + diff[:6000])
