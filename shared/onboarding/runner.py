"""An onboarding import: read every row, report what is wrong with which (row, column, reason),
and, unless it is a dry run, send the rows that are right to the services.

The calls go out with the importer's own token (`call`), so the services apply their rules and
the importer's scope to every row exactly as to a form sent by hand. A row whose record exists
(a region's or an organisation's code) is not sent; every other call carries an idempotency
key made from the row's natural key, so importing the same file again changes nothing. What is
done is noted in a `Checkpoint` as it goes: an import stopped by a restart or a lost connection
starts again after what it had done.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from shared.errors import DomainError, InternalError, Unauthenticated, Unavailable
from shared.onboarding.kinds import Call, CellError, Context, Item, Kind, Ref, read_group
from shared.onboarding.tables import Row

Caller = Callable[[str, str, dict], Awaitable[Any]]
Progress = Callable[[int, int], None]
LOOKUP = {"region": ("grids", "region.batch"), "org": ("organizations", "org.batch")}
LOOKUP_BATCH = 200
RETRIES = 3
REPLICA_WAIT_S = 30.0


class Interrupted(Exception):
    """The services stopped answering: what was done is in the checkpoint; run the import again."""


@dataclass(frozen=True)
class Problem:
    row: int
    column: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


class Checkpoint(Protocol):
    done: set[str]

    async def save(self) -> None: ...


class MemoryCheckpoint:
    def __init__(self) -> None:
        self.done: set[str] = set()

    async def save(self) -> None:
        pass


@dataclass
class Report:
    kind: str
    rows: int
    items: int
    dry_run: bool
    problems: list[Problem] = field(default_factory=list)
    imported: int = 0  # sent and accepted (a row imported before is answered as then: nothing changes)
    present: int = 0  # there already (its code's record, a case id): not sent
    before: int = 0  # done by an earlier, interrupted run of the same import

    def summary(self) -> str:
        if self.dry_run:
            return (
                f"{self.kind}: {self.rows} rows checked, {len(self.problems)} problems "
                f"({self.items} records would be imported, {self.present} are there already)"
            )
        parts = [f"{self.imported} done", f"{self.present} there already"]
        if self.before:
            parts.append(f"{self.before} done by the earlier run")
        return f"{self.kind}: {self.rows} rows, " + ", ".join(parts) + f", {len(self.problems)} problems"


def _problem(rows: Sequence[int], e: CellError | DomainError) -> Problem:
    if isinstance(e, CellError):
        return Problem(rows[0], e.column, e.reason)
    return Problem(rows[0], None, e.message)


def plan(kind: Kind, rows: Sequence[Row], cx: Context) -> tuple[list[Item], list[Problem]]:
    """The file's items (a household's rows make one) and the problems found in the rows
    alone, without asking anyone: cells, and records given twice."""
    problems: list[Problem] = []
    groups: dict[str, list[Row]] = {}
    if kind.group:
        header = kind.column(kind.group).header
        for r in rows:
            g = r.get(header)
            if g is None:
                problems.append(Problem(r.number, header, "is required"))
                continue
            groups.setdefault(str(g).strip(), []).append(r)
    else:
        groups = {str(r.number): [r] for r in rows}
    items: list[Item] = []
    first_of: dict[str, int] = {}
    for group in groups.values():
        try:
            item = read_group(kind, group, cx)
        except (CellError, DomainError) as e:
            problems.append(_problem([r.number for r in group], e))
            continue
        if (earlier := first_of.get(item.key)) is not None:
            problems.append(Problem(group[0].number, None, f"repeats row {earlier} (the same record twice)"))
            continue
        first_of[item.key] = group[0].number
        items.append(item)
    return sorted(items, key=lambda i: i.wave), problems


async def lookup(call: Caller, what: str, ids: Iterable[str]) -> set[str]:
    """Which of `ids` the platform holds where the caller may see them."""
    service, verb = LOOKUP[what]
    wanted = sorted(set(ids))
    found: set[str] = set()
    for i in range(0, len(wanted), LOOKUP_BATCH):
        reply = await _send(call, Call(service, verb, {"ids": wanted[i : i + LOOKUP_BATCH]}))
        found |= {k for k, v in (reply.get("items") or {}).items() if isinstance(v, dict) and "error" not in v}
    return found


async def check(items: list[Item], call: Caller) -> tuple[list[Item], list[Item], list[Problem]]:
    """Split `items` into those to send and those whose record is there already; a reference
    neither the file nor the platform (in the caller's scope) holds is a problem."""
    in_file = {it.defines for it in items if it.defines}
    wanted: dict[str, set[str]] = defaultdict(set)
    for it in items:
        for r in it.refs:
            if (r.what, r.id) not in in_file:
                wanted[r.what].add(r.id)
        for c in it.calls:
            if c.exists:
                wanted[c.exists[0]].add(c.exists[1])
    held = {what: await lookup(call, what, ids) for what, ids in wanted.items()}
    send: list[Item] = []
    present: list[Item] = []
    problems: list[Problem] = []
    for it in items:
        missing: Ref | None = next(
            (r for r in it.refs if (r.what, r.id) not in in_file and r.id not in held.get(r.what, set())), None
        )
        if missing is not None:
            what = "region" if missing.what == "region" else "party organisation"
            problems.append(
                Problem(
                    it.rows[0],
                    missing.column,
                    f"{what} {missing.id} is not in this file nor on the platform (in your scope)",
                )
            )
            continue
        there = all(c.exists and c.exists[1] in held.get(c.exists[0], set()) for c in it.calls)
        (present if there else send).append(it)
    # An item whose reference fails above takes down those that need it from the file.
    bad_rows = {p.row for p in problems}
    failed = {it.defines for it in items if it.defines and it.rows[0] in bad_rows}
    if failed:
        keep = []
        for it in send:
            bad = next((r for r in it.refs if (r.what, r.id) in failed), None)
            if bad is None:
                keep.append(it)
            else:
                problems.append(Problem(it.rows[0], bad.column, f"{bad.id} could not be imported (see its row)"))
                if it.defines:
                    failed.add(it.defines)
        send = keep
    return send, present, problems


async def replicas_know(call: Caller, items: Sequence[Item], timeout_s: float = REPLICA_WAIT_S) -> None:
    """Until the services the items are sent to know the regions they name: a service other
    than `grids` reads regions from its replica, which follows the events of regions imported
    a moment ago. Past the timeout the rows go anyway (a region still unknown fails its row)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for it in items:
        for c in it.calls:
            if c.service != "grids":
                wanted[c.service] |= {r.id for r in it.refs if r.what == "region"}
    deadline = asyncio.get_running_loop().time() + timeout_s
    for service, ids in wanted.items():
        left = sorted(ids)
        while left and asyncio.get_running_loop().time() < deadline:
            reply = await _send(call, Call(service, "stats.batch", {"ids": left[:LOOKUP_BATCH]}))
            known = {k for k, v in (reply.get("items") or {}).items() if isinstance(v, dict) and "error" not in v}
            if not known:
                await asyncio.sleep(0.2)
            left = [i for i in left if i not in known]


async def _send(call: Caller, c: Call) -> Any:
    for attempt in range(RETRIES + 1):
        try:
            return await call(c.service, c.verb, c.body)
        except Unauthenticated as e:  # the importer's sign-in ran out: every row after would fail alike
            raise Interrupted(f"the importer's token was refused ({e.message}); sign in again and go on") from e
        except (Unavailable, InternalError) as e:
            if attempt == RETRIES:
                raise Interrupted(f"{c.service} did not answer ({e.message}); run the import again to go on") from e
            await asyncio.sleep(1.0 + attempt * 2)
    raise AssertionError("unreachable")


def batch_id(kind: Kind, items: Sequence[Item], keyed: Callable[[str], str]) -> str:
    digest = hashlib.sha256("\n".join(it.key for it in items).encode()).hexdigest()
    return f"onboarding:{kind.name}:{keyed(digest)}"


async def run(
    kind: Kind,
    rows: Sequence[Row],
    cx: Context,
    call: Caller,
    dry_run: bool,
    checkpoint: Checkpoint | None = None,
    progress: Progress | None = None,
    concurrency: int = 3,
) -> Report:
    items, problems = plan(kind, rows, cx)
    send, present, more = await check(items, call)
    report = Report(kind.name, len(rows), len(items), dry_run, problems + more, present=len(present))
    if dry_run:
        report.problems.sort(key=lambda p: p.row)
        return report
    cp = checkpoint or MemoryCheckpoint()
    todo = [it for it in send if it.key not in cp.done]
    report.before = len(send) - len(todo)
    total, done = len(todo), 0
    lock = asyncio.Lock()

    async def finished(its: Sequence[Item]) -> None:
        nonlocal done
        async with lock:
            cp.done.update(it.key for it in its)
            done += len(its)
            if progress:
                progress(done, total)

    async def one(it: Item) -> None:
        try:
            for c in it.calls:
                await _send(call, c)
            report.imported += 1
        except DomainError as e:
            report.problems.append(_problem(it.rows, e))
        await finished([it])

    async def many(its: list[Item]) -> None:
        """A batch verb (case.import): the items' bodies in one call; a bad one is named by its
        index, reported, and the batch sent again without it."""
        first = its[0].calls[0]
        while its:
            body = {"importId": batch_id(kind, its, cx.keyed), "cases": [it.calls[0].body["cases"][0] for it in its]}
            try:
                reply = await _send(call, Call(first.service, first.verb, body))
            except DomainError as e:
                index = e.details.get("index")
                if not isinstance(index, int) or not 0 <= index < len(its):
                    for it in its:
                        report.problems.append(_problem(it.rows, e))
                    await finished(its)
                    return
                bad = its.pop(index)
                report.problems.append(Problem(bad.rows[0], None, e.message.split(": ", 1)[-1]))
                await finished([bad])
                continue
            skipped = len(its) if reply.get("replayed") else len(reply.get("skipped") or [])
            report.present += skipped
            report.imported += len(its) - skipped
            await finished(its)
            return

    sem = asyncio.Semaphore(concurrency)

    async def guarded(work: Callable[[], Awaitable[None]]) -> None:
        async with sem:  # the coroutine is made only once it may run (none is left unawaited)
            await work()

    await replicas_know(call, todo)
    waves: dict[int, list[Item]] = defaultdict(list)
    for it in todo:
        waves[it.wave].append(it)
    try:
        for w in sorted(waves):
            wave = waves[w]
            if kind.batch > 1:
                chunks = [wave[i : i + kind.batch] for i in range(0, len(wave), kind.batch)]
                await asyncio.gather(*(guarded(partial(many, ch)) for ch in chunks))
            else:
                await asyncio.gather(*(guarded(partial(one, it)) for it in wave))
            await cp.save()
    finally:
        await cp.save()
    report.problems.sort(key=lambda p: p.row)
    return report
