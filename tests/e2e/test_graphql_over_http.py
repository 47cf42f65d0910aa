"""GraphQL over HTTP: codes by kind of mistake, media types negotiated, status codes as the
spec has them, one operation per request, and the graphql-http audit suite passing clean."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import shutil
from collections import Counter
from pathlib import Path

import pytest

from gateway.http import GRAPHQL_RESPONSE_JSON, JSON, negotiate

ROOT = Path(__file__).resolve().parents[2]
AUDIT = ROOT / "tests" / "http_audit"
AUDIT_CACHE = ROOT / ".cache" / "graphql-http"  # npm installs here (ignored by git)
NEW = {"accept": GRAPHQL_RESPONSE_JSON}


async def post(gateway, body, headers=None, token=True):
    h = {"content-type": "application/json", **(headers or {})}
    if token:
        h["authorization"] = f"Bearer {gateway.token()}"
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return await gateway.http.post("/graphql", content=raw, headers=h)


def codes(r) -> list[str]:
    return [e["extensions"]["code"] for e in r.json()["errors"]]


def test_accept_negotiation():
    assert negotiate(None) == negotiate("") == negotiate("*/*") == negotiate("application/*") == JSON
    assert negotiate("application/json") == JSON
    assert negotiate(GRAPHQL_RESPONSE_JSON) == GRAPHQL_RESPONSE_JSON
    assert negotiate(f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9") == GRAPHQL_RESPONSE_JSON
    assert negotiate(f"{GRAPHQL_RESPONSE_JSON};q=0.5, application/json") == JSON
    assert negotiate(f"{GRAPHQL_RESPONSE_JSON}, */*") == GRAPHQL_RESPONSE_JSON
    assert negotiate("text/html,application/xhtml+xml,*/*;q=0.8") == JSON  # a browser
    assert negotiate("text/html") is None and negotiate(f"{GRAPHQL_RESPONSE_JSON};q=0") is None
    assert negotiate("application/json;q=oops") is None


MISTAKES = [  # (body, code, status with application/graphql-response+json)
    ({"query": "{ me { sub }"}, "GRAPHQL_PARSE_FAILED", 400),
    ({"query": "{ regionz { id } }"}, "GRAPHQL_VALIDATION_FAILED", 400),
    ({"query": '{ regions(first: "ten") { totalCount } }'}, "GRAPHQL_VALIDATION_FAILED", 400),
    ({"query": "query($f: Int) { regions(first: $f) { totalCount } }", "variables": {"f": "ten"}}, "BAD_USER_INPUT", 400),
    ({"query": "query($l: RegionLevel) { regions(level: $l) { totalCount } }", "variables": {"l": "PROVINCE"}},
     "BAD_USER_INPUT", 400),
    ({"query": "query($id: ID!) { region(id: $id) { id } }", "variables": {}}, "BAD_USER_INPUT", 400),
    ({"query": "query($id: ID!) { region(id: $id) { id } }", "variables": {"id": None}}, "BAD_USER_INPUT", 400),
    ({"query": 'query($s: DateTime!) { hotspots(regionId: "city", since: $s) { count } }',
      "variables": {"s": "2026-02-30T00:00:00+08:00"}}, "BAD_USER_INPUT", 400),
    ({"query": '{ hotspots(regionId: "city", since: "2026-02-30T00:00:00+08:00") { count } }'}, "BAD_USER_INPUT", 400),
    ({"query": "query A { me { sub } } query B { me { role } }"}, "BAD_USER_INPUT", 400),
    ({"query": "query A { me { sub } }", "operationName": "B"}, "BAD_USER_INPUT", 400),
    ({"query": "{ regions(first: 101) { totalCount } }"}, "BAD_USER_INPUT", 200),  # refused by the resolver
]


@pytest.mark.parametrize("body,code,status", MISTAKES, ids=[m[0]["query"][:40] for m in MISTAKES])
async def test_client_mistakes_get_their_code_and_status(gateway, caplog, body, code, status):
    with caplog.at_level(logging.INFO):
        legacy = await post(gateway, body)
        new = await post(gateway, body, NEW)
    assert legacy.status_code == 200 and legacy.headers["content-type"].startswith(JSON)
    assert codes(legacy) == [code]
    assert new.status_code == status and new.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert codes(new) == [code]
    if status == 400:  # nothing ran: no data entry
        assert "data" not in legacy.json() and "data" not in new.json()
    # Logged below ERROR, without the variables or the message that quotes them.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert code in logged
    for value in (body.get("variables") or {}).values():
        if value:
            assert str(value) not in logged


async def test_one_operation_runs_only_when_named(gateway):
    two = "query A { me { sub } } query B { me { role } }"
    assert (await post(gateway, {"query": two, "operationName": "B"})).json()["data"] == {"me": {"role": "superadmin"}}
    r = await post(gateway, {"query": two}, NEW)
    assert r.status_code == 400 and "operationName" in r.json()["errors"][0]["message"]


async def test_malformed_requests_are_400_and_faults_are_masked(gateway):
    for body in ('{"query": "{ me { sub } }"', {"query": "{ me { sub } }", "operationName": {"x": 1}},
                 {"query": 42}, {"query": "{ me { sub } }", "variables": "x"}, {"qeury": "{ me { sub } }"}):
        assert (await post(gateway, body, NEW)).status_code == 400, body
    r = await post(gateway, {"query": "{ me { sub } }"}, {"accept": "text/html"})
    assert r.status_code == 406
    r = await gateway.http.get("/graphql", params={"query": "{ me { sub } }"},
                               headers={"authorization": f"Bearer {gateway.token()}", **NEW})
    assert r.status_code == 200 and r.json() == {"data": {"me": {"sub": "test-superadmin"}}}
    r = await gateway.http.get("/graphql", params={"query": "mutation { __typename }"}, headers=NEW)
    assert 400 <= r.status_code < 500
    # Not authenticated is answered from the headers, before the body is read: 401, nothing ran.
    for accept in (NEW, {}):
        r = await post(gateway, {"query": "{ me { sub } }"}, {**accept, "x-request-id": "no-token-1"}, token=False)
        assert r.status_code == 401 and "data" not in r.json() and codes(r) == ["UNAUTHENTICATED"]
        assert r.headers["content-type"].startswith(accept.get("accept", "application/json"))
        assert r.headers["x-request-id"] == "no-token-1"


async def test_request_id_is_echoed_or_made(gateway):
    r = await post(gateway, {"query": "{ __typename }"}, {"x-request-id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await post(gateway, {"query": "{ __typename }"}, {"x-request-id": "has spaces and 13900001111"})
    assert r.headers["x-request-id"] != "has spaces and 13900001111" and len(r.headers["x-request-id"]) == 16


def npm_install() -> Path:
    """graphql-http at the version of `tests/http_audit/package-lock.json`, under `.cache/`."""
    lock = (AUDIT / "package-lock.json").read_bytes()
    stamp = AUDIT_CACHE / ".installed"
    digest = hashlib.sha256(lock + (AUDIT / "package.json").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and (AUDIT_CACHE / "node_modules" / "graphql-http").is_dir():
        return AUDIT_CACHE / "node_modules"
    AUDIT_CACHE.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(AUDIT / name, AUDIT_CACHE / name)
    import subprocess

    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=AUDIT_CACHE, check=True,
                   capture_output=True, timeout=600)
    stamp.write_text(digest)
    return AUDIT_CACHE / "node_modules"


@pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="needs node and npm")
async def test_graphql_http_audit_passes_without_warnings(gateway):
    modules = await asyncio.to_thread(npm_install)
    proc = await asyncio.create_subprocess_exec(
        "node", str(AUDIT / "audit.mjs"), str(modules), f"http://127.0.0.1:{gateway.settings.http_port}/graphql",
        gateway.token(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    results = json.loads(out)
    counts = Counter(r["status"] for r in results)  # ok, notice (MAY), warn (SHOULD), error (MUST)
    print(f"graphql-http audit: {len(results)} audits, {dict(counts)}")
    assert len(results) >= 50
    assert counts["ok"] == len(results), [r for r in results if r["status"] != "ok"]
