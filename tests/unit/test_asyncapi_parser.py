"""Every service's AsyncAPI document passes the official parser (@asyncapi/parser, the version
pinned in tools/asyncapi/package-lock.json, installed by `make asyncapi-tools`, which `make test`
runs) with no error, no warning and no information but the one about a newer AsyncAPI version."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.test_asyncapi import DOCUMENTED, document

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "asyncapi"
# The documents are AsyncAPI 3.0.0 as the deployment's consumers read them; the parser tells
# (as information) that 3.1.0 exists.
ACCEPTED_INFO = {"asyncapi-latest-version"}
NODE = shutil.which("node")


def validate(files: list[Path]) -> list[dict]:
    assert NODE is not None
    if not (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("the AsyncAPI parser is not installed: run `make asyncapi-tools` (`make test` does)")
    run = subprocess.run(
        [NODE, str(TOOLS / "validate.js"), *map(str, files)], capture_output=True, text=True, cwd=TOOLS, check=False
    )
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def findings(report: dict) -> list[dict]:
    return [
        d
        for d in report["diagnostics"]
        if d["severity"] <= 1 or (d["severity"] == 2 and d["code"] not in ACCEPTED_INFO)
    ]


@pytest.mark.skipif(NODE is None, reason="node is not installed: the official AsyncAPI parser cannot run here")
def test_every_document_passes_the_official_parser(tmp_path):
    files = []
    for service in DOCUMENTED:
        files.append(tmp_path / f"{service}.json")
        files[-1].write_text(json.dumps(document(service), ensure_ascii=False))
    # the parser does find what matters: a document with a made-up binding field fails
    bad = document("cases") | {"operations": json.loads(json.dumps(document("cases")["operations"]))}
    next(iter(bad["operations"].values()))["bindings"]["nats"] |= {"bindingVersion": "custom", "subjects": "x"}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    reports = {Path(r["file"]).stem: r for r in validate([*files, tmp_path / "bad.json"])}
    assert findings(reports.pop("bad")), "the parser let a non-standard binding through"
    for service, report in reports.items():
        assert report["parsed"], (service, report["diagnostics"])
        assert not findings(report), (service, findings(report))
