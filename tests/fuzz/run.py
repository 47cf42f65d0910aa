"""Fire generated requests at a running gateway and count what came back; grep the logs after.

    .venv/bin/python -m tests.fuzz --requests 10000            # own stack (`yiwang up` on free ports)
    .venv/bin/python -m tests.fuzz --url http://127.0.0.1:8000 --logs .yiwang/logs   # a running one

Figures: requests, answers with a 5xx status, answers carrying an INTERNAL_SERVER_ERROR,
errors without `extensions.code`, hangs (no answer within the client's timeout), per kind of
request; and every planted name, phone, ID number or canary found in any log file.
"""
from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.identity import settings_token
from shared.settings import Settings
from tests.fuzz.generate import FuzzRequest, Generator, id_number, phone

GRID_WORKER = "mutation($i: RegisterGridWorkerInput!) { registerGridWorker(input: $i) { id } }"
REGION = "mutation($i: CreateRegionInput!) { createRegion(input: $i) { id } }"
REPORT = "mutation($i: ReportCaseInput!) { reportCase(input: $i) { id reporter { name phone } } }"
ORG = "mutation($i: CreatePartyOrganizationInput!) { createPartyOrganization(input: $i) { id } }"
MEMBER = "mutation($i: RegisterPartyMemberInput!) { registerPartyMember(input: $i) { id phone idNumber } }"
VOLUNTEER = "mutation($i: RegisterVolunteerInput!) { registerVolunteer(input: $i) { id phone } }"
CATEGORY = "mutation($i: CaseCategoryInput!) { upsertCaseCategory(input: $i) { version } }"
ORDER = "mutation($i: PlaceServiceOrderInput!) { placeServiceOrder(input: $i) { id } }"


@dataclass
class Figures:
    requests: int = 0
    five_xx: int = 0
    internal: int = 0
    no_code: int = 0
    hangs: int = 0
    dropped: int = 0  # connections closed without an answer
    statuses: Counter = field(default_factory=Counter)
    codes: Counter = field(default_factory=Counter)
    by_kind: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[str, dict] = field(default_factory=dict)  # first INTERNAL / 5xx / hang per kind
    seconds: float = 0.0

    def add(self, req: FuzzRequest, status: int | None, body: Any) -> None:
        self.requests += 1
        k = self.by_kind[req.kind]
        k["requests"] += 1
        if status == 0:
            self.dropped += 1
            k["dropped"] += 1
            self.examples.setdefault(f"dropped:{req.kind}", describe(req, status, body))
            return
        if status is None:
            self.hangs += 1
            k["hangs"] += 1
            self.examples.setdefault(f"hang:{req.kind}", describe(req, status, body))
            return
        self.statuses[status] += 1
        if status >= 500:
            self.five_xx += 1
            k["5xx"] += 1
            self.examples.setdefault(f"5xx:{req.kind}", describe(req, status, body))
        errors = body.get("errors") if isinstance(body, dict) else None
        codes = [(e.get("extensions") or {}).get("code") for e in errors or [] if isinstance(e, dict)]
        self.codes.update(c or "(none)" for c in codes)
        if "INTERNAL_SERVER_ERROR" in codes:
            self.internal += 1
            k["internal"] += 1
            self.examples.setdefault(f"internal:{req.kind}", describe(req, status, body))
        if None in codes:
            self.no_code += 1
            k["no_code"] += 1
            self.examples.setdefault(f"no_code:{req.kind}", describe(req, status, body))

    def summary(self) -> dict[str, Any]:
        return {"requests": self.requests, "5xx": self.five_xx, "internal": self.internal,
                "no_code": self.no_code, "hangs": self.hangs, "dropped": self.dropped, "seconds": round(self.seconds, 1),
                "statuses": dict(sorted(self.statuses.items())), "codes": dict(self.codes.most_common()),
                "by_kind": {k: dict(v) for k, v in sorted(self.by_kind.items())}}

    def table(self) -> str:
        rows = [f"{'kind':<22}{'requests':>9}{'5xx':>6}{'INTERNAL':>10}{'no code':>9}{'hangs':>7}{'dropped':>9}"]
        for kind, c in sorted(self.by_kind.items()):
            rows.append(f"{kind:<22}{c['requests']:>9}{c['5xx']:>6}{c['internal']:>10}{c['no_code']:>9}{c['hangs']:>7}"
                        f"{c['dropped']:>9}")
        rows.append(f"{'total':<22}{self.requests:>9}{self.five_xx:>6}{self.internal:>10}{self.no_code:>9}{self.hangs:>7}"
                    f"{self.dropped:>9}")
        return "\n".join(rows)


def describe(req: FuzzRequest, status: int | None, body: Any) -> dict:
    return {"kind": req.kind, "n": req.n, "status": status, "request": (req.body() or b"")[:400].decode(errors="replace")
            if req.method == "POST" else req.params, "answer": str(body)[:400]}


class Tokens:
    def __init__(self, settings: Settings, region: str | None = None):
        self.by_name = {"superadmin": settings_token(settings, sub="fuzz-superadmin", role="superadmin"),
                        "admin": settings_token(settings, sub="fuzz-admin", role="admin", region=region or "fz-none"),
                        "resident": settings_token(settings, sub="fuzz-resident", role="resident")}

    def header(self, which: str) -> dict[str, str]:
        if which == "none":
            return {}
        if which == "garbage":
            return {"authorization": "Bearer not.a.jwt"}
        return {"authorization": f"Bearer {self.by_name[which]}"}


async def send(http: httpx.AsyncClient, url: str, req: FuzzRequest, tokens: Tokens,
               timeout_s: float) -> tuple[int | None, Any]:
    headers = {**req.headers(), **tokens.header(req.token)}
    try:
        if req.method == "GET":
            r = await http.get(url, params=req.params, headers=headers, timeout=timeout_s)
        else:
            r = await http.post(url, content=req.body(), headers=headers, timeout=timeout_s)
    except httpx.TimeoutException:
        return None, None
    except httpx.TransportError as e:  # the server dropped the connection without an answer
        return 0, f"{type(e).__name__}: {e}"
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, r.text[:200]


async def gql(http: httpx.AsyncClient, url: str, query: str, variables: dict, token: str) -> dict:
    r = await http.post(url, json={"query": query, "variables": variables},
                        headers={"authorization": f"Bearer {token}"}, timeout=60)
    return r.json()


async def until_ok(http: httpx.AsyncClient, url: str, query: str, variables: dict, token: str,
                   deadline: float) -> dict:
    """A write that depends on a service having caught up with the territory: retried
    until it succeeds or the deadline passes."""
    while True:
        body = await gql(http, url, query, variables, token)
        if not body.get("errors"):
            return body["data"]
        # A service not caught up with the territory yet refuses in the resolver (the error
        # has a path); anything else will not get better by asking again.
        retry = all(e.get("path") and (e.get("extensions") or {}).get("code") in ("NOT_FOUND", "BAD_USER_INPUT", "UNAVAILABLE")
                    for e in body["errors"])
        if not retry or time.monotonic() > deadline:
            raise AssertionError(f"{query.split('(')[1]} kept failing: {body['errors']}")
        await asyncio.sleep(0.2)


async def plant(http: httpx.AsyncClient, url: str, tokens: Tokens, seed: int,
                ready_s: float = 120.0) -> tuple[dict[str, list[str]], list[str]]:
    """Real records with personal data through every service: a territory with a grid, a
    grid worker, a reported case, a party member, a volunteer and a service order.
    Returns ids for the generator and the personal data written."""
    import random

    rng = random.Random(seed)
    su = tokens.by_name["superadmin"]
    p = f"fz{seed}"
    planted: list[str] = []

    def pii(value: str) -> str:
        planted.append(value)
        return value

    square = lambda x, y, d: {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}  # noqa: E731
    tree = [("city", "CITY", None, None), ("county", "COUNTY", "city", None), ("town", "TOWNSHIP", "county", None),
            ("comm", "COMMUNITY", "town", square(113.5, 30.5, 0.02)), ("grid", "GRID", "comm", square(113.5, 30.5, 0.01)),
            ("bldg", "BUILDING", "grid", None)]
    for key, level, parent, boundary in tree:
        i = {"id": f"{p}-{key}", "name": f"{p}{key}", "level": level,
             **({"parentId": f"{p}-{parent}"} if parent else {}), **({"boundary": boundary} if boundary else {})}
        body = await gql(http, url, REGION, {"i": i}, su)
        assert not body.get("errors") or body["errors"][0]["extensions"]["code"] == "CONFLICT", body
    deadline = time.monotonic() + ready_s
    grid, bldg, category = f"{p}-grid", f"{p}-bldg", f"FZ{seed}"
    await until_ok(http, url, CATEGORY, {"i": {"code": category, "name": "其他", "defaultLevel": "GRID"}}, su, deadline)
    await until_ok(http, url, GRID_WORKER, {"i": {"sub": f"{p}-gw", "name": pii("覃慧琳"), "role": "BASIC",
                                                  "gridId": grid, "phone": pii("13900001111"), "idempotencyKey": f"{p}-gw"}}, su, deadline)
    case = await until_ok(http, url, REPORT, {"i": {
        "title": "楼道堆物", "description": f"联系人{pii('阎振华')}，身份证{pii(id_number(rng))}", "categoryCode": category,
        "channel": "HOTLINE", "reporterName": pii("欧阳秀英"), "reporterPhone": pii(phone(rng)), "lng": 113.505,
        "lat": 30.505, "idempotencyKey": f"{p}-case"}}, su, deadline)
    town = await until_ok(http, url, ORG, {"i": {"name": f"{p}街道党工委", "type": "TOWNSHIP_WORKING_COMMITTEE",
                                                 "anchorId": f"{p}-town", "idempotencyKey": f"{p}-o1"}}, su, deadline)
    comm = await until_ok(http, url, ORG, {"i": {"name": f"{p}社区党委", "type": "COMMUNITY_COMMITTEE", "anchorId": f"{p}-comm",
                                                 "parentId": town["createPartyOrganization"]["id"], "idempotencyKey": f"{p}-o2"}}, su, deadline)
    org = comm["createPartyOrganization"]["id"]
    member = await until_ok(http, url, MEMBER, {"i": {
        "name": pii("司徒建国"), "gender": "MALE", "birthDate": "1971-03-04", "joinDate": "1995-07-01",
        "category": "IN_SERVICE", "organizationId": org, "phone": pii(phone(rng)), "idNumber": pii(id_number(rng)),
        "homeBuildingId": bldg, "idempotencyKey": f"{p}-m1"}}, su, deadline)
    volunteer = await until_ok(http, url, VOLUNTEER, {"i": {
        "name": pii("上官婉清"), "homeRegionId": f"{p}-comm", "phone": pii(phone(rng)), "sub": f"{p}-vol",
        "skills": ["助老"], "availability": ["周末"], "idempotencyKey": f"{p}-v1"}}, su, deadline)
    await until_ok(http, url, ORDER, {"i": {"category": "助老", "description": f"{pii('诸葛明远')}家换灯泡，电话{pii(phone(rng))}",
                                            "buildingId": bldg, "idempotencyKey": f"{p}-so1"}}, tokens.by_name["resident"], deadline)
    # The same writes with client mistakes in them, personal data included.
    mistakes = [(REPORT, {"i": {"title": "x", "description": "y", "categoryCode": "OTHER", "channel": "NOPE",
                                "reporterName": pii("乜晓燕"), "reporterPhone": pii(phone(rng))}}),
                (REPORT, {"i": {"title": "x", "description": pii(id_number(rng)), "categoryCode": "OTHER", "channel": "HOTLINE",
                                "reporterName": pii("亓官德胜"), "lng": "东经113度"}}),
                (MEMBER, {"i": {"name": pii("覃慧琳"), "gender": "FEMALE", "birthDate": "1990-02-30", "joinDate": "2010-07-01",
                                "category": "IN_SERVICE", "organizationId": org, "idNumber": pii(id_number(rng))}}),
                (ORDER, {"i": {"category": "助老", "description": pii("阎振华"), "wishedAt": "2026-02-30T00:00:00+08:00"}}),
                (MEMBER, {})]
    for query, variables in mistakes:
        body = await gql(http, url, query, variables, su)
        assert body.get("errors"), body
    # Personal data where an id belongs: a lookup that finds nothing.
    await gql(http, url, "query($id: ID!) { partyMember(id: $id) { name } }", {"id": pii(id_number(rng))}, su)
    ids = {"any": [f"{p}-{k}" for k, *_ in tree] + [case["reportCase"]["id"], org, member["registerPartyMember"]["id"],
                                                    volunteer["registerVolunteer"]["id"]],
           "regionid": [f"{p}-{k}" for k, *_ in tree], "gridid": [grid], "buildingid": [bldg],
           "caseid": [case["reportCase"]["id"]], "organizationid": [org], "memberid": [member["registerPartyMember"]["id"]],
           "volunteerid": [volunteer["registerVolunteer"]["id"]], "code": [category, "OTHER", "ENV_GARBAGE"]}
    return ids, planted


async def fire(url: str, gen: Generator, tokens: Tokens, n: int, concurrency: int = 8,
               timeout_s: float = 60.0) -> tuple[Figures, set[str]]:
    figures, planted = Figures(), set()
    queue: asyncio.Queue[FuzzRequest | None] = asyncio.Queue(maxsize=concurrency * 2)
    t0 = time.monotonic()

    async def worker(http: httpx.AsyncClient) -> None:
        while (req := await queue.get()) is not None:
            try:
                status, body = await send(http, url, req, tokens, timeout_s)
            except Exception as e:  # noqa: BLE001 - counted, never the end of the run
                status, body = 0, f"{type(e).__name__}: {e}"
            figures.add(req, status, body)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as http:
        workers = [asyncio.create_task(worker(http)) for _ in range(concurrency)]
        for _ in range(n):
            req = gen.next()
            planted.update(req.planted)
            await queue.put(req)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    figures.seconds = time.monotonic() - t0
    return figures, planted


PII_PATTERNS = {"phone": re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),
                "id number": re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")}
_TOKENS = re.compile(r"canary\d+x\d+x\d+|[0-9]{11,}[0-9Xx]?|[\u3400-\u9fff]+")
_HAN = re.compile(r"[\u3400-\u9fff]+")


def leaks(text: str, planted: set[str]) -> set[str]:
    """The planted values that occur in `text`: canaries as they are, phone and ID numbers
    inside any run of digits, names inside any run of Chinese characters."""
    names = [p for p in planted if _HAN.fullmatch(p)]
    found = set()
    for m in _TOKENS.finditer(text):
        t = m.group()
        if t.startswith("canary"):
            found.update({t} & planted)
        elif t[0].isdigit():
            found.update(w for n in (11, 18) for i in range(len(t) - n + 1) if (w := t[i:i + n]) in planted)
        else:
            found.update(n for n in names if n in t)
    return found


@dataclass
class LogScan:
    files: dict[str, int]                     # log file -> bytes
    found: dict[str, list[str]]               # log file -> planted values found in it
    patterns: dict[str, list[str]]            # log file -> phone/ID-shaped strings found in it
    levels: Counter                           # lines per level (all files)
    error_lines: int                          # lines at ERROR or above, or tracebacks

    def summary(self) -> dict[str, Any]:
        return {"files": self.files, "bytes": sum(self.files.values()), "planted_found":
                {k: sorted(v)[:20] for k, v in self.found.items() if v},
                "planted_found_count": sum(len(v) for v in self.found.values()),
                "pattern_found": {k: sorted(set(v))[:20] for k, v in self.patterns.items() if v},
                "pattern_found_count": sum(len(v) for v in self.patterns.values()),
                "levels": dict(self.levels), "error_lines": self.error_lines}


def scan_logs(log_dir: Path, planted: set[str]) -> LogScan:
    """Every file under `log_dir` (rotated ones included), searched for each planted value."""
    files, found, patterns, levels, error_lines = {}, {}, {}, Counter(), 0
    for path in sorted(p for p in log_dir.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = str(path.relative_to(log_dir))
        files[rel] = path.stat().st_size
        found[rel] = sorted(leaks(text, planted))
        patterns[rel] = [m for pat in PII_PATTERNS.values() for m in pat.findall(text)]
        for line in text.splitlines():
            level = None
            if line.startswith("{"):
                try:
                    level = json.loads(line).get("level")
                except ValueError:
                    pass
            else:
                level = next((lv for lv in ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG") if f" {lv} " in line), None)
            if level:
                levels[level] += 1
            if level in ("ERROR", "CRITICAL") or line.startswith("Traceback"):
                error_lines += 1
    return LogScan(files, found, patterns, levels, error_lines)
