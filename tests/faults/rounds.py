"""Rounds of faults under load, and the table they add up to.

A round starts the mixed load, kills its target at a random moment (after a random number of
acknowledged writes, plus a random fraction of a second), waits until the target is back and
a write it serves has succeeded (the recovery time runs from the restart to that write), lets
the load run on a little, stops it, lets every client finish its request (retrying as it
must), and checks everything `verify` knows. Findings are counted in the round they appear.
"""
from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tests.faults.gql import RETRY_DEADLINE_S
from tests.faults.load import MixedLoad, Write
from tests.faults.verify import Findings, Verifier

WORKERS = 6
AFTER_RECOVERY_WRITES = 10  # served by the restarted target before the round stops
APP_SERVICES = ("grids", "cases", "organizations", "volunteers")


def rounds_wanted() -> int:
    """FAULT_ROUNDS (default 1: the reduced run of `make test`; `make faults` asks for more)."""
    return max(1, int(os.environ.get("FAULT_ROUNDS", "1")))


def seed_wanted() -> int:
    """FAULT_SEED repeats a run's random moments; by default each run draws its own."""
    return int(os.environ.get("FAULT_SEED") or random.SystemRandom().randrange(1, 10**6))


@dataclass
class Target:
    """Something to kill: `kill()` does it, `back()` returns the moment it runs again."""

    name: str
    kill: Callable[[], Awaitable[object]]
    back: Callable[[object], Awaitable[float]]
    serves: tuple[str, ...] = APP_SERVICES  # services whose writes show it recovered


class LostAcknowledgedWrites(AssertionError):
    """Acknowledged writes are gone (and with them, perhaps, their idempotency records, the
    store's copy of events already published, and the client's next step on the record, which
    now finds it in its earlier state); nothing else is wrong."""


@dataclass
class Row:
    killed: str
    rounds: int = 0
    acked: int = 0
    lost: int = 0
    duplicated: int = 0
    retry_differs: int = 0
    events: int = 0          # published events missing from or doubled in a stream
    figures: int = 0         # rollups differing from a recount
    stuck: int = 0           # consumers not caught up, projections not applied, dead letters
    errors: int = 0          # answers a client could not act on (INTERNAL, gave up, unexpected)
    after_loss: int = 0      # errors on a record whose acknowledged write was lost (its next step, say)
    recovery_s: list[float] = field(default_factory=list)
    stall_s: list[float] = field(default_factory=list)
    settle_s: list[float] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)  # one line per round

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.retry_differs or self.events or self.figures
                    or self.stuck or self.errors)

    def assert_clean(self) -> None:
        """Nothing found; LostAcknowledgedWrites when losses (and what follows from them) are all."""
        details = "\n".join(self.details)
        follows_loss = self.retry_differs or self.events or self.after_loss
        if self.duplicated or self.figures or self.stuck or self.errors or (follows_loss and not self.lost):
            raise AssertionError(details)
        if self.lost:
            raise LostAcknowledgedWrites(details)

    def add(self, round_: int, acked: int, f: Findings, errors: list[str], after_loss: list[str], recovery: float,
            stall: float) -> None:
        self.rounds += 1
        self.acked += acked
        self.lost += len(f.lost)
        self.duplicated += len(f.duplicated)
        self.retry_differs += len(f.retry_differs)
        self.events += len(f.events_lost) + len(f.events_duplicated)
        self.figures += len(f.figures)
        self.stuck += len(f.unsettled) + len(f.dead_letters)
        self.errors += len(errors)
        self.after_loss += len(after_loss)
        self.settle_s.append(f.settle_s)
        self.recovery_s.append(recovery)
        self.stall_s.append(stall)
        text = f.summary()
        if after_loss:
            text = ("errors that follow a loss: " + "; ".join(after_loss[:8]) + "\n" + text).replace("\nclean", "")
        if errors:
            text = ("errors: " + "; ".join(errors[:8]) + "\n" + text).replace("\nclean", "")
        if text != "clean":
            self.details.append(f"round {round_}:\n  " + text.replace("\n", "\n  "))


@dataclass
class FaultTable:
    rows: dict[str, Row] = field(default_factory=dict)
    seed: int = 0
    started: float = field(default_factory=time.monotonic)

    def row(self, killed: str) -> Row:
        return self.rows.setdefault(killed, Row(killed))

    def render(self) -> str:
        head = ("process killed", "rounds", "writes acked", "lost", "duplicated", "retry≠first", "events",
                "figures", "stuck", "errors", "recovery s (median / max)", "longest stall s", "settled s (max)")
        lines = [head]
        for r in self.rows.values():
            rec = (f"{statistics.median(r.recovery_s):.1f} / {max(r.recovery_s):.1f}" if r.recovery_s else "-")
            stall = f"{max(r.stall_s):.1f}" if r.stall_s else "-"
            settled = f"{max(r.settle_s):.1f}" if r.settle_s else "-"
            lines.append((r.killed, str(r.rounds), str(r.acked), str(r.lost), str(r.duplicated),
                          str(r.retry_differs), str(r.events), str(r.figures), str(r.stuck),
                          str(r.errors) + (f" (+{r.after_loss} after a loss)" if r.after_loss else ""), rec,
                          stall, settled))
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]

        def fmt(line: tuple[str, ...]) -> str:
            cells = zip(line, widths, strict=True)
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(cells))
        out = [f"fault table (FAULT_SEED={self.seed}; {time.monotonic() - self.started:.0f} s)",
               fmt(head), "  ".join("-" * w for w in widths), *map(fmt, lines[1:])]
        out.append("")
        for r in self.rows.values():
            out += [f"{r.killed}: {line}" for line in r.log]
        for r in self.rows.values():
            out += [f"{r.killed}: {d}" for d in r.details]
        return "\n".join(out)


TABLE = FaultTable()  # filled by the tests, printed at the end of the session (tests/faults/conftest.py)


class FaultRun:
    """A stack under load that targets are killed in, round after round."""

    def __init__(self, load: MixedLoad, verifier: Verifier, seed: int):
        self.load, self.verifier = load, verifier
        self.rnd = random.Random(seed)
        self.round = 0
        self._first = 0  # the round's first write in the ledger

    async def rounds(self, target: Target, n: int, row: Row) -> Row:
        for _ in range(n):
            await self.one(target, row)
        return row

    async def one(self, target: Target, row: Row) -> None:
        self.round += 1
        await self.load.begin_round(self.round)
        failures_before = len(self.load.ledger.failures)
        self._first = len(self.load.ledger.writes)
        began = time.monotonic()
        stop = asyncio.Event()
        workers = asyncio.create_task(self.load.run(WORKERS, stop))
        probe = asyncio.create_task(self.load.probe(target.serves, stop))
        try:
            threshold = self.rnd.randint(5, 60)  # writes acknowledged before the kill: a random moment
            await self._until(lambda: len(self.load.ledger.writes) - self._first >= threshold, "load")
            await asyncio.sleep(self.rnd.uniform(0, 1.0))
            killed = await target.kill()
            killed_at = self.load.ledger.kills[self.round] = time.monotonic()
            restarted = await target.back(killed)
            first = await self._until(lambda: self._served_after(target, restarted, 1), "a write after the restart")
            recovery = first[0].at - restarted
            await self._until(lambda: self._served_after(target, restarted, AFTER_RECOVERY_WRITES), "more writes")
        finally:
            stop.set()
            await asyncio.gather(workers, probe)
        stopped = time.monotonic()
        found = await self.verifier.check(self.load.ledger, self.round, self.rnd)
        failures = self.load.ledger.failures[failures_before:]
        errors = [f"{x.kind}: {x.code} {x.message[:160]}" for x in failures if x.aggregate not in found.lost_aggregates]
        after_loss = [f"{x.kind}: {x.code} {x.message[:160]}" for x in failures if x.aggregate in found.lost_aggregates]
        for name in _CUMULATIVE:
            setattr(found, name, self.verifier.new(getattr(found, name)))
        acked = len(self.load.ledger.writes) - self._first
        stall = self._stall(target, killed_at)
        row.add(self.round, acked, found, errors, after_loss, recovery, stall)
        row.log.append(f"round {self.round}: {acked} writes acknowledged, {threshold} before the kill; "
                       f"back {restarted - killed_at:.1f} s after the kill, first write {recovery:.1f} s after "
                       f"that, longest stall {stall:.1f} s; load stopped {stopped - began:.0f} s into the round, "
                       f"settled {found.settle_s:.1f} s later{_waiting(found)}, checked in "
                       f"{time.monotonic() - stopped:.0f} s; "
                       f"{'clean' if found.clean and not failures else 'FOUND PROBLEMS'}")

    def _stall(self, target: Target, killed_at: float) -> float:
        """The longest time from the kill on without a write the target serves succeeding."""
        points = [killed_at, *sorted(w.at for w in self.load.ledger.writes[self._first:]
                                     if w.at > killed_at and w.service in target.serves)]
        return max((b - a for a, b in zip(points, points[1:], strict=False)), default=0.0)

    def _served_after(self, target: Target, moment: float, n: int) -> list[Write]:
        served = [w for w in self.load.ledger.writes[self._first:] if w.at > moment and w.service in target.serves]
        return served[:n] if len(served) >= n else []

    async def _until(self, probe: Callable[[], object], what: str, timeout: float = RETRY_DEADLINE_S) -> object:
        deadline = time.monotonic() + timeout
        while not (value := probe()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout:g}s")
            await asyncio.sleep(0.05)
        return value


def _waiting(found: Findings) -> str:
    """What a long settling waited on last (a consumer's unacknowledged message, say)."""
    if found.settle_s < 2 or not found.waited_for:
        return ""
    return " (last waiting: " + "; ".join(found.waited_for[:3]) + ")"


# Findings about stored data persist from check to check; count each in the round it appeared.
_CUMULATIVE = {"lost", "duplicated", "retry_differs", "events_lost", "events_duplicated", "figures"}
