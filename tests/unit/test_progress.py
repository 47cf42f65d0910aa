"""The seeder's progress lines: what is loading and how far along, a line per finished part,
and in between no more than one line every `every_s` seconds."""
from __future__ import annotations

import asyncio
import re
import time

import pytest

from ops.cli.progress import Progress

TICK = re.compile(r"seed: case history (\d+)/10 cases \(\d+s\)")


async def test_a_running_part_is_reported_at_a_modest_rate_and_its_end_once():
    lines: list[tuple[float, str]] = []
    ticks: asyncio.Queue[str] = asyncio.Queue()

    def say(line: str) -> None:
        lines.append((time.monotonic(), line))
        if m := TICK.fullmatch(line):
            ticks.put_nowait(m[1])

    every_s = 0.2
    async with Progress(say, every_s=every_s) as progress:
        with progress.part("case history", 10, "cases") as part:
            part.add(3)
            assert await ticks.get() == "3"  # said by itself while the part runs
            part.add(4)
            while await ticks.get() != "7":
                pass
            part.add(3)
        assert lines[-1][1].startswith("seed: case history: 10 cases in ")
    assert progress._ticker is not None and progress._ticker.done()  # nothing more is said
    said = [t for t, line in lines if TICK.fullmatch(line)]
    assert all(b - a >= every_s * 0.99 for a, b in zip(said, said[1:], strict=False)), said
    assert said[0] - progress.started >= every_s * 0.99


async def test_a_failed_part_is_not_reported_done():
    lines: list[str] = []
    async with Progress(lines.append, every_s=60) as progress:
        with pytest.raises(RuntimeError), progress.part("party", 5, "members"):
            raise RuntimeError("the service went away")
        assert progress.running == []
    assert lines == []
