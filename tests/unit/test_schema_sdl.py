"""The SDL checked in as schema.graphql is the gateway's schema, and `yiwang schema` prints it."""
from __future__ import annotations

import difflib
from pathlib import Path

from ops.cli.main import main
from ops.cli.schema import sdl
from shared.settings import Settings

CHECKED_IN = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_the_checked_in_sdl_is_the_gateways_schema():
    built, checked_in = sdl(Settings()), CHECKED_IN.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(checked_in.splitlines(True), built.splitlines(True),
                                        "schema.graphql (checked in)", "the gateway's schema", n=1))
    assert not diff, ("schema.graphql is not the gateway's schema; if the change is meant, "
                      "run `.venv/bin/yiwang schema > schema.graphql` and commit it:\n" + diff[:4000])


def test_yiwang_schema_prints_it(capsys):
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == CHECKED_IN.read_text(encoding="utf-8")
