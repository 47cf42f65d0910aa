"""The gateway's schema only grows: schema.graphql (at the top of the repository, checked in) is
the SDL front ends were built against, and nothing in it may be removed, renamed or retyped. A
change that only adds (types, fields, interfaces, enum values) passes; the diff is printed on
failure. That the checked-in file is the current schema is tests/unit/test_schema_sdl.py's."""
from __future__ import annotations

import difflib
from pathlib import Path

from graphql import build_schema as parse_sdl
from graphql.utilities import DangerousChangeType, find_breaking_changes, find_dangerous_changes

from ops.cli.schema import sdl
from shared.settings import Settings

# "Dangerous" in graphql-core's terms, but additions: a client that does not ask for them sees no change.
ADDITIONS = {DangerousChangeType.IMPLEMENTED_INTERFACE_ADDED, DangerousChangeType.OPTIONAL_ARG_ADDED,
             DangerousChangeType.VALUE_ADDED_TO_ENUM, DangerousChangeType.TYPE_ADDED_TO_UNION}
BASELINE = Path(__file__).resolve().parents[2] / "schema.graphql"


def _diff(old: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        "schema.graphql", "the gateway's schema", n=1))


def test_the_schema_removes_and_changes_nothing_of_the_baseline():
    old, new = BASELINE.read_text(encoding="utf-8"), sdl(Settings())
    old_schema, new_schema = parse_sdl(old), parse_sdl(new)
    changes = [f"{c.type.name}: {c.description}" for c in find_breaking_changes(old_schema, new_schema)]
    changes += [f"{c.type.name}: {c.description}" for c in find_dangerous_changes(old_schema, new_schema)
                if c.type not in ADDITIONS]
    assert not changes, ("the gateway's schema breaks what front ends rely on (schema.graphql):\n"
                         + "\n".join(changes) + "\n" + _diff(old, new)[:6000])

