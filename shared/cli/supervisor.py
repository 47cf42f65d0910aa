"""Run child processes, restart the ones that die, and stop them gracefully on request."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 10.0
STABLE_AFTER_S = 30.0  # a process that stayed up this long restarts at FIRST_DELAY_S again
STOP_GRACE_S = 15.0


def say(message: str) -> None:
    print(f"[yiwang] {message}", flush=True)


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    run_dir: Path
    log_dir: Path
    proc: asyncio.subprocess.Process | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    def start(self) -> None:
        self.task = asyncio.create_task(self._supervise(), name=f"supervise-{self.name}")

    async def stop(self) -> None:
        """SIGTERM, up to STOP_GRACE_S to drain, then SIGKILL; returns once it is gone."""
        self.stopping.set()
        if self.task is not None:
            await self.task

    async def _supervise(self) -> None:
        delay = FIRST_DELAY_S
        while not self.stopping.is_set():
            started = time.monotonic()
            code = await self._run_once()
            if self.stopping.is_set():
                break
            if time.monotonic() - started >= STABLE_AFTER_S:
                delay = FIRST_DELAY_S
            say(f"{self.name} exited ({code}); restarting in {delay:g}s")
            try:
                await asyncio.wait_for(self.stopping.wait(), delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, MAX_DELAY_S)

    async def _run_once(self) -> int | str:
        with open(self.log_dir / f"{self.name}.log", "ab") as log:
            try:
                # Own session: a Ctrl-C in the terminal reaches only the launcher, which then
                # stops the children in order.
                self.proc = await asyncio.create_subprocess_exec(
                    *self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as e:
                return f"failed to start: {e}"
        self.pid_file.write_text(f"{self.proc.pid}\n")
        try:
            waiter = asyncio.create_task(self.proc.wait())
            stop = asyncio.create_task(self.stopping.wait())
            await asyncio.wait({waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not waiter.done():
                await self._terminate(waiter)
            return waiter.result()
        finally:
            self.pid_file.unlink(missing_ok=True)

    async def _terminate(self, waiter: asyncio.Task) -> None:
        assert self.proc is not None
        self._signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), STOP_GRACE_S)
        except TimeoutError:
            say(f"{self.name} did not stop within {STOP_GRACE_S:g}s; killing it")
            self._signal(signal.SIGKILL)
            await waiter

    def _signal(self, sig: int) -> None:
        try:  # the child leads its own process group: signal whatever it spawned too
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
