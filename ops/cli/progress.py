"""What a long load (the demo, the city) is doing and how far along it is.

A line when each part is done, and while parts run, a line every `every_s` seconds (no more
often) naming each running part with its count: a seed that takes minutes on a busy machine
is never silent, and never floods the terminal either.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Say = Callable[[str], None]
Tick = Callable[[int], None]


@dataclass
class Part:
    name: str
    total: int
    unit: str
    done: int = 0
    started: float = field(default_factory=time.monotonic)

    def add(self, n: int = 1) -> None:
        self.done += n

    def status(self) -> str:
        return f"{self.name} {min(self.done, self.total)}/{self.total} {self.unit}"


class Progress:
    def __init__(self, say: Say, every_s: float = 15.0, prefix: str = "seed: "):
        self._say, self.every_s, self.prefix = say, every_s, prefix
        self.started = self.last_said = time.monotonic()
        self.running: list[Part] = []
        self._ticker: asyncio.Task | None = None

    def say(self, message: str) -> None:
        self.last_said = time.monotonic()
        self._say(message)

    @contextlib.contextmanager
    def part(self, name: str, total: int, unit: str) -> Iterator[Part]:
        """A part of the load; say `done` on leaving it (not when it failed)."""
        part = Part(name, total, unit)
        self.running.append(part)
        try:
            yield part
        finally:
            self.running.remove(part)
        self.say(f"{self.prefix}{name}: {part.done} {unit} in {time.monotonic() - part.started:.1f}s")

    def status(self) -> str:
        return f"{self.prefix}{'; '.join(p.status() for p in self.running)} ({time.monotonic() - self.started:.0f}s)"

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(max(0.1, self.last_said + self.every_s - time.monotonic()))
            if self.running and time.monotonic() - self.last_said >= self.every_s:
                self.say(self.status())

    async def __aenter__(self) -> Progress:
        self._ticker = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
