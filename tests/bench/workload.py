"""The city benchmark's GraphQL side: discovering the territory, the operations of the mixed
workload, and recording their latencies. Used by tests.bench.city."""
from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.identity import settings_token
from shared.settings import Settings
from tests.bench.report_latency import pct

LEVELS = ["CITY", "COUNTY", "TOWNSHIP", "COMMUNITY", "GRID"]

OVERVIEW = """query($r: ID!) { overview(regionId: $r) { region { id name level }
  cases { total open overdue resolved responseRate resolutionRate satisfactionRate fengqiaoShare }
  grids { gridCount gridWorkerCount buildingCount }
  organizations { organizationCount memberCount branchCoverage }
  volunteers { volunteerCount activePosts openOrders serviceHours } } }"""
DRILLDOWN = """query($r: ID!) { region(id: $r) { children(first: 50) { edges { node { id name level
  overview { cases { open overdue } } } } } } }"""
CASES = """query($r: ID!) { cases(filter: {regionId: $r}, first: 20) { totalCount edges { node { id status } } } }"""
REGIONS = """query($p: ID, $l: RegionLevel, $a: String) { regions(parentId: $p, level: $l, first: 100, after: $a) {
  edges { node { id name level } } pageInfo { hasNextPage endCursor } totalCount } }"""
GRIDS = """query($p: ID, $a: String) { regions(parentId: $p, level: GRID, first: 100, after: $a) {
  edges { node { id name level boundary } } pageInfo { hasNextPage endCursor } } }"""
WORKERS = """query($r: ID!) { gridWorkers(regionId: $r, first: 5) { edges { node { sub active } } } }"""
REPORT = """mutation($i: ReportCaseInput!) { reportCase(input: $i) { id status level region { id } } }"""
ACCEPT = """mutation($id: ID!) { acceptCase(id: $id) { id status } }"""
ASSIGN = """mutation($id: ID!, $a: AssigneeInput!) { assignCase(id: $id, assignee: $a) { id status } }"""
START = """mutation($id: ID!) { startCase(id: $id) { id status } }"""
RESOLVE = """mutation($id: ID!, $t: String!) { resolveCase(id: $id, resolution: $t) { id status } }"""
RATE = """mutation($id: ID!, $s: Int!, $c: String) { rateCase(id: $id, score: $s, comment: $c) { id status } }"""
VERIFY = """mutation($id: ID!, $p: Boolean!, $n: String) { verifyCase(id: $id, passed: $p, note: $n) { id status } }"""
VISIT = """mutation($id: ID!, $s: ReturnVisitSatisfaction, $r: Boolean!) {
  recordReturnVisit(caseId: $id, satisfaction: $s, reached: $r) { id status } }"""
# departments: a third of the followed cases go to a county department (主办) with a co-handler (协办)
DEPARTMENTS = """query($r: ID!) { departments(regionId: $r, first: 50) { edges { node { code regionId } } } }"""
DISPATCH = """mutation($id: ID!, $l: String!, $c: [String!]) { dispatchCase(id: $id, lead: $l, cooperating: $c) {
  id status } }"""
REPLY = """mutation($id: ID!, $t: String!) { replyToCase(id: $id, text: $t) { id status } }"""
DEPT_SHARE = 1 / 3
# NEW operations: an error from one of these marks it unavailable rather than failing the run.
RANKINGS = """query($r: ID!, $m: RankingMetric!, $o: SortOrder) { rankings(regionId: $r, metric: $m, order: $o,
  first: 10) { rank value region { id name } } }"""
TREND = """query($r: ID!, $m: TrendMetric!, $f: DateTime!, $t: DateTime!, $i: TrendInterval!) {
  trend(regionId: $r, metric: $m, from: $f, to: $t, interval: $i) { points { start end value } } }"""
HOTSPOTS = """query($r: ID!, $s: DateTime!) { hotspots(regionId: $r, since: $s, first: 10) {
  count previousCount region { id name } category { code name } } }"""
# mywork / visits: a grid worker's home screen, a grid's visit plan, a visit recorded to a due household
MY_WORK = """{ myWork { items { kind id title dueAt overdue } cases { id title status dueAt }
  orders { id status wishedAt } activities { id title startsAt } meetings { id scheduledAt } unavailable } }"""
VISIT_PLAN = """query($g: ID!) { visitPlan(gridId: $g) { dueAt overdue household { id } } }"""
RECORD_VISIT = """mutation($i: RecordVisitInput!) { recordVisit(input: $i) { id } }"""
HOUSEHOLD_FIGURES = """query($r: ID!) { overview(regionId: $r) { households { householdCount residentCount
  mustVisitCount overdueVisits visitCoverage linkedHouseholdShare byTag { tag count } } } }"""
RANKING_METRICS = ["OVERDUE_CASES", "SATISFACTION_RATE", "BRANCH_COVERAGE", "SERVICE_HOURS"]
TREND_METRICS = ["CASES_REPORTED", "CASES_RESOLVED", "SATISFACTION_RATE"]
CATEGORIES = ["ENV_GARBAGE", "ENV_NOISE", "FACILITY_STREETLIGHT", "SAFETY_EBIKE_CHARGING", "PROPERTY_FACILITY",
              "DISPUTE_NEIGHBOR", "LIVELIHOOD_ELDERLY", "OTHER"]
# graphql-core's words for a query the schema does not have (an operation not built yet)
SCHEMA_REFUSALS = ("Cannot query field", "Unknown argument", "Unknown type", "got invalid value",
                   "is not defined", "does not exist", "Expected value of type", "Did you mean")
# Lists of every kind at every level, filtered and not (a page of 20 with its total, and the next
# page after it): each is timed as `list_<kind>` (`_<level>`: of the city or of a grid).
LISTS = {
    "members": """query($r: ID, $a: String) { partyMembers(regionId: $r, first: 20, after: $a) {
      totalCount pageInfo { endCursor } edges { node { id name } } } }""",
    "members_category": """query($r: ID, $a: String) { partyMembers(regionId: $r, category: RETIRED, first: 20,
      after: $a) { totalCount pageInfo { endCursor } edges { node { id name } } } }""",
    "organizations": """query($r: ID, $a: String) { partyOrganizations(regionId: $r, first: 20, after: $a) {
      totalCount pageInfo { endCursor } edges { node { id name } } } }""",
    "volunteers": """query($r: ID, $a: String) { volunteers(regionId: $r, first: 20, after: $a) {
      totalCount pageInfo { endCursor } edges { node { id } } } }""",
    "posts": """query($r: ID, $a: String) { volunteerPosts(regionId: $r, first: 20, after: $a) {
      totalCount pageInfo { endCursor } edges { node { id } } } }""",
    "orders": """query($r: ID, $a: String) { serviceOrders(regionId: $r, first: 20, after: $a) {
      totalCount pageInfo { endCursor } edges { node { id } } } }""",
    "activities": """query($r: ID, $a: String) { activities(regionId: $r, first: 20, after: $a) {
      totalCount pageInfo { endCursor } edges { node { id } } } }""",
    "cases_category": """query($r: ID, $a: String, $c: String) { cases(filter: {regionId: $r, category: $c},
      first: 20, after: $a) { totalCount pageInfo { endCursor } edges { node { id } } } }""",
    "cases_open": """query($r: ID, $a: String) { cases(filter: {regionId: $r, statuses: [REPORTED, ACCEPTED,
      IN_PROGRESS]}, first: 20, after: $a) { totalCount pageInfo { endCursor } edges { node { id } } } }""",
    # a grid worker's own grid: households and visits are read below the township only
    "households": """query($r: ID!, $a: String) { households(regionId: $r, first: 20, after: $a) {
      totalCount pageInfo { endCursor } edges { node { id } } } }""",
    "visits": """query($r: ID!, $a: String) { visits(regionId: $r, first: 20, after: $a) {
      totalCount pageInfo { endCursor } edges { node { id } } } }""",
}
GRID_ONLY_LISTS = ("households", "visits")
DEFAULT_MIX = {"report": 2, "workflow": 8, "overview": 6, "drilldown": 1, "cases": 2,
               "rankings": 1, "trend": 1, "hotspots": 1,
               "my_work": 2, "visit_plan": 1, "record_visit": 1, "household_figures": 1,  # mywork / visits
               "lists": 3}


class GqlError(RuntimeError):
    pass


class Gql:
    """A GraphQL-over-HTTP client with its own keep-alive connection."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout,
                                      limits=httpx.Limits(max_connections=4, max_keepalive_connections=4))

    async def __call__(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        r = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        if r.status_code != 200:
            raise GqlError(f"HTTP {r.status_code}: {r.text[:200]}")
        body = r.json()
        if body.get("errors"):
            raise GqlError("; ".join(str(e.get("message")) for e in body["errors"])[:300])
        return body["data"]

    async def close(self) -> None:
        await self.http.aclose()


# -- recording --------------------------------------------------------------------------------
@dataclass
class OpStats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def summary(self, wall: float) -> dict[str, Any]:
        n = len(self.latencies)
        out: dict[str, Any] = {"count": n, "errors": self.errors,
                               "throughput_per_s": round(n / wall, 2) if wall > 0 else 0.0}
        if n:
            out |= {"p50_ms": round(pct(self.latencies, 50) * 1000, 1), "p95_ms": round(pct(self.latencies, 95) * 1000, 1),
                    "p99_ms": round(pct(self.latencies, 99) * 1000, 1)}
        if self.error_samples:
            out["error_samples"] = self.error_samples
        return out


class Recorder:
    def __init__(self) -> None:
        self.ops: dict[str, OpStats] = {}

    async def timed(self, op: str, call: Awaitable[dict]) -> dict | None:
        s = self.ops.setdefault(op, OpStats())
        t = time.perf_counter()
        try:
            data = await call
        except Exception as e:  # noqa: BLE001 - counted per operation
            s.errors += 1
            if len(s.error_samples) < 3 and str(e)[:300] not in s.error_samples:
                s.error_samples.append(f"{e}"[:300] or type(e).__name__)
            return None
        s.latencies.append(time.perf_counter() - t)
        return data

    def summary(self, wall: float) -> dict[str, dict]:
        return {op: s.summary(wall) for op, s in sorted(self.ops.items())}


def latency_summary(latencies: list[float]) -> dict[str, Any]:
    if not latencies:
        return {"count": 0}
    return {"count": len(latencies), "p50_ms": round(pct(latencies, 50) * 1000, 2),
            "p95_ms": round(pct(latencies, 95) * 1000, 2), "p99_ms": round(pct(latencies, 99) * 1000, 2),
            "mean_ms": round(sum(latencies) / len(latencies) * 1000, 2)}


# -- the territory ----------------------------------------------------------------------------
@dataclass
class Grid:
    id: str
    path: list[str]
    points: list[tuple[float, float]]
    workers: list[str] = field(default_factory=list)


@dataclass
class Territory:
    root: str
    roots: list[str]
    nodes: dict[str, list[str]]  # level -> sampled ids
    grids: list[Grid]
    region_count: int


def points_in(boundary: dict | None, n: int, rnd: random.Random) -> list[tuple[float, float]]:
    """`n` points well inside a GeoJSON polygon (none without a boundary)."""
    if not boundary:
        return []
    from shapely.geometry import Point, shape

    poly = shape(boundary)
    inner = poly.buffer(-min(1e-4, (poly.bounds[2] - poly.bounds[0]) / 20))
    target = inner if not inner.is_empty else poly
    x0, y0, x1, y1 = target.bounds
    out: list[tuple[float, float]] = []
    for _ in range(n * 50):
        p = (round(rnd.uniform(x0, x1), 6), round(rnd.uniform(y0, y1), 6))
        if target.contains(Point(p)):
            out.append(p)
            if len(out) == n:
                break
    return out


async def discover(gql: Gql, max_grids: int = 200, per_level: int = 30, seed: int = 20261121,
                   log: Callable[[str], None] = print) -> Territory:
    """The root and a random sample of the tree below it: nodes at every level for the reads,
    grids (with points inside them and their workers) for the reports."""
    rnd = random.Random(seed)
    data = await gql(REGIONS, {"l": "CITY"})
    roots = [e["node"]["id"] for e in data["regions"]["edges"]]
    if not roots:
        raise RuntimeError("no CITY region: is the stack seeded?")
    root = roots[0]
    total = (await gql(REGIONS, {}))["regions"]["totalCount"]
    children: dict[str, list[dict]] = {}

    async def kids(parent: str, cap: int = 1000) -> list[dict]:
        if parent not in children:
            out, after = [], None
            while len(out) < cap:
                page = (await gql(REGIONS, {"p": parent, "a": after}))["regions"]
                out += [e["node"] for e in page["edges"] if e["node"]["level"] != "BUILDING"]
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            children[parent] = out
        return children[parent]

    nodes: dict[str, set[str]] = {lvl: set() for lvl in LEVELS}
    nodes["CITY"].add(root)
    grids: dict[str, Grid] = {}
    explored: set[str] = set()  # communities whose grids are in
    attempts = idle = 0
    while len(grids) < max_grids and attempts < max_grids * 3 and idle < 30:
        attempts += 1
        idle += 1
        path, node = [root], {"id": root, "level": "CITY"}
        while True:
            below = await kids(node["id"])
            if not below:
                break
            if below[0]["level"] == "GRID":
                break
            node = rnd.choice(below)
            path.append(node["id"])
            if len(nodes[node["level"]]) < per_level:
                nodes[node["level"]].add(node["id"])
        if not below or below[0]["level"] != "GRID" or node["id"] in explored:
            continue
        explored.add(node["id"])
        idle = 0
        # this community's grids, with their boundaries
        page = (await gql(GRIDS, {"p": node["id"]}))["regions"]
        for e in page["edges"]:
            g = e["node"]
            if g["id"] in grids or len(grids) >= max_grids:
                continue
            grids[g["id"]] = Grid(g["id"], [*path, g["id"]], points_in(g.get("boundary"), 20, rnd))
            if len(nodes["GRID"]) < per_level:
                nodes["GRID"].add(g["id"])
        if len(explored) % 10 == 0:
            log(f"  {len(grids)} grids so far ...")
    if not grids:
        raise RuntimeError(f"found no grids under {root}")
    sem = asyncio.Semaphore(8)

    async def workers(g: Grid) -> None:
        async with sem:
            try:
                edges = (await gql(WORKERS, {"r": g.id}))["gridWorkers"]["edges"]
                g.workers = [e["node"]["sub"] for e in edges if e["node"].get("active", True)]
            except GqlError:
                g.workers = []

    await asyncio.gather(*(workers(g) for g in grids.values()))
    return Territory(root=root, roots=roots, nodes={k: sorted(v) for k, v in nodes.items()},
                     grids=list(grids.values()), region_count=total)


async def sequential(gql: Gql, query: str, variables: dict, n: int, warmup: int = 20) -> dict[str, Any]:
    """`n` requests one after another (after `warmup`): the latency with nothing else running."""
    for _ in range(warmup):
        await gql(query, variables)
    lat: list[float] = []
    errors = 0
    t0 = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        try:
            await gql(query, variables)
            lat.append(time.perf_counter() - t)
        except GqlError:
            errors += 1
    wall = time.perf_counter() - t0
    return {**latency_summary(lat), "errors": errors, "throughput_per_s": round(len(lat) / wall, 1)}


# -- the workload -----------------------------------------------------------------------------
@dataclass
class Pending:
    case_id: str
    grid: Grid
    resident: str  # token of the reporter (who rates)
    step: int = 0
    steps: tuple[str, ...] = ()  # the path of this case (default: Workload.STEPS)
    dept: tuple[str, str, str] | None = None  # departments: (county, lead code, cooperating code)


class Workload:
    """The operations of the mixed workload, over one Territory, with minted tokens."""

    STEPS = ["accept_case", "assign_case", "start_case", "resolve_case", "rate_case"]
    # Every third case is a hotline call handled by a department: verified (核查), then a 回访.
    HOTLINE_STEPS = ("accept_case", "assign_case", "start_case", "resolve_case", "verify_case", "return_visit")
    HOTLINE_EVERY = 3
    DEPT = "URBAN_MGMT"
    # A share of the followed cases go to a county department (主办) with a co-handler (协办), then 核查.
    DEPT_STEPS = ("accept_case", "dispatch_case", "start_case", "reply_case", "resolve_case", "verify_case")

    def __init__(self, url: str, settings: Settings, territory: Territory, clients: int,
                 mix: dict[str, float], run_id: str, seed: int = 7):
        self.url, self.t, self.clients, self.run_id = url, territory, clients, run_id
        self.mix = {k: v for k, v in mix.items() if v > 0}
        self.rnd = random.Random(seed)
        self.settings = settings
        self.superadmin = self.token("bench-superadmin", "superadmin")
        self.admin = self.token("bench-admin", "admin", territory.root)
        self.operator = self.token("bench-operator", "operator", territory.root)
        self.residents = [self.token(f"bench-resident-{run_id}-{i}", "resident") for i in range(clients)]
        self.department = self.token("bench-dept", "department", territory.root, dept=self.DEPT)
        self._gw: dict[tuple[str, str], str] = {}
        self.pending: deque[Pending] = deque()
        self.sent: dict[str, tuple[float, str]] = {}  # case id -> (unix time the report was sent, phase)
        self.replied: dict[str, float] = {}  # case id -> unix time its reportCase reply came back
        # notifications: who reported each case in their own name (index into `residents`; a hotline
        # call has no account to tell), and when its acceptCase / resolveCase was sent (unix time)
        self.reporter_of: dict[str, int] = {}
        self.step_sent: dict[str, dict[str, float]] = {"accept_case": {}, "resolve_case": {}}
        self.seq = 0
        self.directories: dict[str, list[str]] = {}  # county -> department codes
        self.unavailable: dict[str, str] = {}
        self.probe_errors: dict[str, str] = {}
        self.ranking_metrics = list(RANKING_METRICS)
        self.trend_metrics = list(TREND_METRICS)
        self.read_nodes = [n for lvl in LEVELS for n in territory.nodes.get(lvl, [])]
        self.upper_nodes = [n for lvl in LEVELS[:-1] for n in territory.nodes.get(lvl, [])]

    def token(self, sub: str, role: str, region: str | None = None, **claims: str) -> str:
        return settings_token(self.settings, sub=sub, role=role, region=region, ttl_s=24 * 3600, **claims)

    def dept_token(self, county: str, code: str) -> str:
        key = (f"dept:{code}", county)
        if key not in self._gw:
            self._gw[key] = self.token(f"bench-dept-{code}", "department", county, dept=code)
        return self._gw[key]

    def grid_worker(self, grid: Grid) -> tuple[str, str]:
        """(sub, token) of a grid worker of this grid: a registered one, else a bench one."""
        sub = grid.workers[0] if grid.workers else f"bench-gw-{grid.id}"
        key = (sub, grid.id)
        if key not in self._gw:
            self._gw[key] = self.token(sub, "grid_worker", grid.id)
        return sub, self._gw[key]

    # -- probes -----------------------------------------------------------------------------
    async def probe_new_ops(self, gql: Gql) -> None:
        """Try each NEW operation once per variant; what the schema refuses (not built yet) is
        marked unavailable and left out of the mix. Other failures (a timeout) keep it in: they
        are the service's to fix, and the workload counts them as errors."""
        now = datetime.now(UTC)
        root = self.t.root

        async def works(op: str, query: str, variables: dict) -> str | None:
            try:
                await gql(query, variables, token=self.admin)
                return None
            except Exception as e:  # noqa: BLE001 - the reason is recorded
                if any(m in str(e) for m in SCHEMA_REFUSALS):
                    return str(e)[:300]
                self.probe_errors[op] = str(e)[:300]
                return None

        why = {m: await works("rankings", RANKINGS, {"r": root, "m": m, "o": "DESC"}) for m in RANKING_METRICS}
        self.ranking_metrics = [m for m, w in why.items() if w is None]
        if not self.ranking_metrics:
            self.unavailable["rankings"] = next(iter(why.values())) or "unavailable"
        elif len(self.ranking_metrics) < len(RANKING_METRICS):
            self.unavailable["rankings:" + ",".join(m for m, w in why.items() if w)] = \
                "; ".join(w for w in why.values() if w)[:300]
        why = {m: await works("trend", TREND, {"r": root, "m": m, "f": (now - timedelta(days=30)).isoformat(),
                                      "t": now.isoformat(), "i": "DAY"}) for m in TREND_METRICS}
        self.trend_metrics = [m for m, w in why.items() if w is None]
        if not self.trend_metrics:
            self.unavailable["trend"] = next(iter(why.values())) or "unavailable"
        w = await works("hotspots", HOTSPOTS, {"r": root, "s": (now - timedelta(days=7)).isoformat()})
        if w:
            self.unavailable["hotspots"] = w
        # departments: each county's directory, for dispatch with co-handling
        for county in sorted({g.path[1] for g in self.t.grids if len(g.path) > 1}):
            try:
                edges = (await gql(DEPARTMENTS, {"r": county}, token=self.admin))["departments"]["edges"]
            except Exception as e:  # noqa: BLE001 - the reason is recorded
                self.unavailable["dispatch_case"] = str(e)[:300]
                break
            codes = [e["node"]["code"] for e in edges if e["node"]["regionId"] == county]
            if len(codes) >= 2:
                self.directories[county] = codes
        if not self.directories:
            self.unavailable.setdefault("dispatch_case", "no county has two departments in its directory")
        # mywork / visits (recordVisit's probe names no household: any answer but the schema's refusal will do)
        grid = self.t.grids[0].id if self.t.grids else root
        for op, query, variables in (("my_work", MY_WORK, {}), ("visit_plan", VISIT_PLAN, {"g": grid}),
                                     ("household_figures", HOUSEHOLD_FIGURES, {"r": self.t.root}),
                                     ("record_visit", RECORD_VISIT, {"i": {"householdId": "hh_bench_probe",
                                      "kind": "ROUTINE", "findings": "", "at": now.isoformat(),
                                      "idempotencyKey": f"bench-probe-{self.run_id}"}})):
            if w := await works(op, query, variables):
                self.unavailable[op] = w
        self.probe_errors.pop("record_visit", None)
        for op in ("rankings", "trend", "hotspots", "my_work", "visit_plan", "record_visit", "household_figures"):
            if op in self.unavailable:
                self.mix.pop(op, None)

    # -- operations -------------------------------------------------------------------------
    async def report(self, gql: Gql, rec: Recorder, client: int, phase: str, follow: bool) -> str | None:
        grid = self.rnd.choice(self.t.grids)
        self.seq += 1
        i = {"title": "楼道杂物堆放", "description": "压测上报", "categoryCode": self.rnd.choice(CATEGORIES),
             "channel": "MINI_PROGRAM", "reporterName": "测试居民", "reporterPhone": "13900000000",
             "idempotencyKey": f"bench-{self.run_id}-{self.seq}"}
        if grid.points:
            i["lng"], i["lat"] = self.rnd.choice(grid.points)
        else:
            i["regionId"] = grid.id
        resident = self.residents[client % len(self.residents)]
        hotline = follow and self.seq % self.HOTLINE_EVERY == 0  # a caller without an account, entered by staff
        if hotline:
            i["channel"] = "HOTLINE"
        sent = time.time()
        data = await rec.timed("report_case", gql(REPORT, {"i": i}, token=self.operator if hotline else resident))
        if data is None:
            return None
        case = data["reportCase"]
        self.sent[case["id"]] = (sent, phase)
        self.replied[case["id"]] = time.time()
        if not hotline:
            self.reporter_of[case["id"]] = client % len(self.residents)
        if follow:
            located = case.get("region", {}).get("id")
            if located and located != grid.id:  # a point on a border: follow the grid it went to
                grid = next((g for g in self.t.grids if g.id == located), Grid(located, [], []))
            county = grid.path[1] if len(grid.path) > 1 else ""
            dept, steps = None, self.HOTLINE_STEPS if hotline else ()
            if self.directories.get(county) and self.rnd.random() < DEPT_SHARE:
                lead, co = self.rnd.sample(self.directories[county], 2)
                dept = (county, lead, co)
                steps = self.DEPT_STEPS + (("return_visit",) if hotline else ("rate_case",))
            self.pending.append(Pending(case["id"], grid, resident, steps=steps, dept=dept))
        return case["id"]

    async def advance(self, gql: Gql, rec: Recorder) -> None:
        """One workflow step of the oldest case waiting for one."""
        p = self.pending.popleft()
        steps = p.steps or self.STEPS
        step = steps[p.step]
        sub, gw = self.grid_worker(p.grid)
        if p.dept:  # the lead department starts and resolves
            gw = self.dept_token(p.dept[0], p.dept[1])
        elif p.steps:  # a department handles it: the centre verifies it and calls the caller back
            gw = self.department
        if step == "accept_case":
            call = gql(ACCEPT, {"id": p.case_id}, token=self.operator)
        elif step == "dispatch_case" and p.dept:
            call = gql(DISPATCH, {"id": p.case_id, "l": p.dept[1], "c": [p.dept[2]]}, token=self.operator)
        elif step == "reply_case" and p.dept:
            call = gql(REPLY, {"id": p.case_id, "t": "已配合处置"}, token=self.dept_token(p.dept[0], p.dept[2]))
        elif step == "assign_case" and p.steps:
            call = gql(ASSIGN, {"id": p.case_id, "a": {"kind": "DEPARTMENT", "id": self.DEPT, "name": self.DEPT}},
                       token=self.operator)
        elif step == "verify_case":
            call = gql(VERIFY, {"id": p.case_id, "p": True, "n": "现场核实"}, token=self.operator)
        elif step == "return_visit":
            call = gql(VISIT, {"id": p.case_id, "s": self.rnd.choice(["SATISFIED", "BASICALLY_SATISFIED"]), "r": True},
                       token=self.operator)
        elif step == "assign_case":
            call = gql(ASSIGN, {"id": p.case_id, "a": {"kind": "GRID_WORKER", "id": sub, "name": sub}},
                       token=self.operator)
        elif step == "start_case":
            call = gql(START, {"id": p.case_id}, token=gw)
        elif step == "resolve_case":
            call = gql(RESOLVE, {"id": p.case_id, "t": "已现场处置, 清理完毕"}, token=gw)
        else:
            call = gql(RATE, {"id": p.case_id, "s": self.rnd.choice([5, 5, 4, 3]), "c": "满意"}, token=p.resident)
        told = self.step_sent.get(step) if p.case_id in self.reporter_of else None
        if told is not None:  # notifications: the reporter's inbox is told of this step
            told[p.case_id] = time.time()
        done = await rec.timed(step, call)
        if done is None and told is not None:
            told.pop(p.case_id, None)
        if done is not None and p.step + 1 < len(steps):
            p.step += 1
            self.pending.append(p)

    async def overview(self, gql: Gql, rec: Recorder) -> None:
        level = self.rnd.choice([lvl for lvl in LEVELS if self.t.nodes.get(lvl)])
        region = self.rnd.choice(self.t.nodes[level])
        await rec.timed(f"overview_{level.lower()}", gql(OVERVIEW, {"r": region}, token=self.admin))

    async def drilldown(self, gql: Gql, rec: Recorder) -> None:
        await rec.timed("drilldown", gql(DRILLDOWN, {"r": self.rnd.choice(self.upper_nodes)}, token=self.admin))

    async def cases(self, gql: Gql, rec: Recorder) -> None:
        await rec.timed("cases_list", gql(CASES, {"r": self.rnd.choice(self.read_nodes)}, token=self.operator))

    async def rankings(self, gql: Gql, rec: Recorder) -> None:
        v = {"r": self.rnd.choice(self.upper_nodes), "m": self.rnd.choice(self.ranking_metrics),
             "o": self.rnd.choice(["ASC", "DESC"])}
        await rec.timed("rankings", gql(RANKINGS, v, token=self.admin))

    async def trend(self, gql: Gql, rec: Recorder) -> None:
        now = datetime.now(UTC)
        days, interval = self.rnd.choice([(30, "DAY"), (90, "WEEK"), (365, "MONTH")])
        v = {"r": self.rnd.choice(self.read_nodes), "m": self.rnd.choice(self.trend_metrics),
             "f": (now - timedelta(days=days)).isoformat(), "t": now.isoformat(), "i": interval}
        await rec.timed("trend", gql(TREND, v, token=self.admin))

    async def hotspots(self, gql: Gql, rec: Recorder) -> None:
        v = {"r": self.rnd.choice(self.upper_nodes),
             "s": (datetime.now(UTC) - timedelta(days=self.rnd.choice([7, 30]))).isoformat()}
        await rec.timed("hotspots", gql(HOTSPOTS, v, token=self.admin))

    async def lists(self, gql: Gql, rec: Recorder) -> None:
        """A list of one kind, of the city or of a grid (households and visits: a grid worker's
        own grid), filtered or not: its first page with the total, then the page after it."""
        kind = self.rnd.choice(list(LISTS))
        if kind in GRID_ONLY_LISTS:
            grid = self.rnd.choice(self.t.grids)
            region, token, level = grid.id, self.grid_worker(grid)[1], "grid"
        elif self.rnd.random() < 0.5:
            region, token, level = self.t.root, self.admin, "city"
        else:
            region, token, level = self.rnd.choice(self.t.grids).id, self.admin, "grid"
        v: dict[str, Any] = {"r": region, "a": None}
        if kind == "cases_category":
            v["c"] = self.rnd.choice(CATEGORIES)
        op = f"list_{kind}_{level}"
        data = await rec.timed(op, gql(LISTS[kind], v, token=token))
        if data:
            (page,) = data.values()
            if page["pageInfo"]["endCursor"]:
                await rec.timed(op, gql(LISTS[kind], {**v, "a": page["pageInfo"]["endCursor"]}, token=token))

    # -- mywork / visits ----------------------------------------------------------------------
    async def my_work(self, gql: Gql, rec: Recorder) -> None:
        """A grid worker opens the app: a part the gateway names unavailable counts as an error."""
        _, token = self.grid_worker(self.rnd.choice(self.t.grids))

        async def call() -> dict:
            data = await gql(MY_WORK, token=token)
            if data["myWork"]["unavailable"]:
                raise GqlError(f"myWork without {data['myWork']['unavailable']}")
            return data

        await rec.timed("my_work", call())

    async def household_figures(self, gql: Gql, rec: Recorder) -> None:
        """The city's household figures (实有人口 by tag, visit and 联户 coverage): rollup reads."""
        await rec.timed("household_figures", gql(HOUSEHOLD_FIGURES, {"r": self.t.root}, token=self.admin))

    async def visit_plan(self, gql: Gql, rec: Recorder) -> None:
        """A grid worker reads their grid's plan (due today and overdue)."""
        grid = self.rnd.choice(self.t.grids)
        _, token = self.grid_worker(grid)
        await rec.timed("visit_plan", gql(VISIT_PLAN, {"g": grid.id}, token=token))

    async def record_visit(self, gql: Gql, rec: Recorder) -> None:
        """A grid worker records a visit to a household of their grid's plan (read first, untimed),
        at a point of the grid; a grid with nothing due records a routine visit to none."""
        grid = self.rnd.choice(self.t.grids)
        _, token = self.grid_worker(grid)
        try:
            plan = (await gql(VISIT_PLAN, {"g": grid.id}, token=token))["visitPlan"]
        except Exception:  # noqa: BLE001 - the timed visit_plan operation counts these
            return
        if not plan:
            return
        due = self.rnd.choice(plan[:10])
        self.seq += 1
        i: dict[str, Any] = {"householdId": due["household"]["id"], "kind": "ROUTINE", "findings": "压测走访, 一切正常",
                             "at": datetime.now(UTC).isoformat(), "idempotencyKey": f"bench-visit-{self.run_id}-{self.seq}"}
        if grid.points:
            i["lng"], i["lat"] = self.rnd.choice(grid.points)
        else:
            i["overrideReason"] = "压测: 网格无边界"
        await rec.timed("record_visit", gql(RECORD_VISIT, {"i": i}, token=token))

    # -- phases -----------------------------------------------------------------------------
    async def run_phase(self, phase: str, seconds: float, think_s: float = 0.0,
                        on_tick: Callable[[float, Recorder], None] | None = None) -> tuple[Recorder, float]:
        """`clients` closed-loop clients for `seconds`. phase "report_only": reports only;
        "mixed": the weighted mix."""
        rec = Recorder()
        names, weights = list(self.mix), list(self.mix.values())

        async def client(c: int, gql: Gql, deadline: float) -> None:
            rnd = random.Random(c * 7919 + len(phase))
            try:
                # Closed-loop clients with think time arrive spread over one think time, not all
                # at the same instant: a start in lockstep measures a burst of `clients`
                # simultaneous requests, not the steady mix (see README, "Measuring").
                if think_s:
                    await asyncio.sleep(rnd.uniform(0, think_s))
                while time.perf_counter() < deadline:
                    if phase == "report_only":
                        await self.report(gql, rec, c, phase, follow=False)
                    else:
                        op = rnd.choices(names, weights)[0]
                        if op == "workflow" and not self.pending:
                            op = "report"
                        if op == "report":
                            await self.report(gql, rec, c, phase, follow=True)
                        elif op == "workflow":
                            await self.advance(gql, rec)
                        else:
                            await getattr(self, op)(gql, rec)
                    if think_s:
                        await asyncio.sleep(think_s)
            finally:
                await gql.close()

        async def ticker(t0: float) -> None:
            while True:
                await asyncio.sleep(5)
                if on_tick:
                    on_tick(time.perf_counter() - t0, rec)

        # each client's keep-alive connection is open before the clock starts
        gqls = [Gql(self.url) for _ in range(self.clients)]
        # (with a token: the gateway answers a request without one 401 before reading it)
        await asyncio.gather(*(g("{ __typename }", token=self.residents[c % len(self.residents)])
                               for c, g in enumerate(gqls)))
        t0 = time.perf_counter()
        tick = asyncio.create_task(ticker(t0))
        try:
            await asyncio.gather(*(client(c, g, t0 + seconds) for c, g in enumerate(gqls)))
        finally:
            tick.cancel()
        return rec, time.perf_counter() - t0
