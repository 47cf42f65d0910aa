"""Run child processes, restart the ones that die, and stop them gracefully on request.

The children die with the launcher: each asks the kernel for SIGTERM when the launcher goes
(`PR_SET_PDEATHSIG`, Linux), however it goes (`kill -9`, a crash), so nothing runs on
unsupervised with nobody to stop it. Each also leads a session of its own, so a Ctrl-C in the
terminal reaches only the launcher, which then stops them in order."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import logging.handlers
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from shared.logs import redact

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 10.0
STABLE_AFTER_S = 30.0  # a process that stayed up this long restarts at FIRST_DELAY_S again
STOP_GRACE_S = 15.0
DRAIN_S = 5.0  # after a child exits, how long its last lines may take to arrive
LINE_LIMIT = 1 << 20  # a longer line is written in pieces
PR_SET_PDEATHSIG = 1

_log: TextIO | None = None  # the launcher's own log, a copy of what it says


def log_to(path: Path | None) -> None:
    """Also append every `say` line to `path` (the launcher's log), or stop doing so."""
    global _log
    if _log is not None:
        _log.close()
    _log = open(path, "a", encoding="utf-8", buffering=1) if path else None


def say(message: str) -> None:
    """One line to the terminal (and the launcher's log). A closed stdout (`make run | head`)
    silences the terminal and nothing else: the launcher keeps supervising and, asked to,
    stops its children as usual."""
    line = f"[yiwang] {message}"
    if _log is not None:
        try:
            print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}", file=_log)
        except (OSError, ValueError):
            pass
    try:
        print(line, flush=True)
    except (OSError, ValueError):
        _mute_stdout()


def _mute_stdout() -> None:
    """From now on stdout goes nowhere; also spares the interpreter's flush at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    sys.stdout = open(os.devnull, "w")


def die_with(parent: int) -> Callable[[], None] | None:
    """A `preexec_fn` that has the child sent SIGTERM when `parent` exits (Linux), and that
    ends a child whose parent is already gone before it could ask. None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here, in the parent: the child only calls it
    prctl = libc.prctl

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the launcher died between the fork and the prctl
            os._exit(1)

    return preexec


class LogFile:
    """A child's `<name>.log`, rotated by size into `<name>.log.1` … `.<backups>`.

    The supervisor is the only writer: each child's stdout and stderr come through a pipe and
    are written here line by line, so a rotation falls between two lines and loses none (a
    child writing the file itself would keep writing into the renamed one). It covers what a
    Python logging handler in the child could not: nats-server and the store, and whatever a
    process prints before its logging is set up or as it dies. Every line is masked again
    (`shared.logs.redact`)."""

    def __init__(self, path: Path, max_bytes: int, backups: int):
        self.handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )

    def write(self, line: str) -> None:
        self.handler.emit(logging.makeLogRecord({"msg": redact(line), "levelno": logging.INFO}))

    def close(self) -> None:
        self.handler.close()

    async def pump(self, reader: asyncio.StreamReader) -> None:
        """Copy lines from the child's pipe until it closes."""
        while True:
            try:
                chunk = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as e:  # the end: a last line without a newline
                if e.partial:
                    self.write(e.partial.decode("utf-8", "replace"))
                return
            except asyncio.LimitOverrunError as e:
                chunk = await reader.readexactly(e.consumed)
            self.write(chunk.decode("utf-8", "replace").rstrip("\n"))


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    run_dir: Path
    log_dir: Path
    log_max_bytes: int = 10 << 20
    log_backups: int = 5
    proc: asyncio.subprocess.Process | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None
    log: LogFile | None = None

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
        self.log = LogFile(self.log_dir / f"{self.name}.log", self.log_max_bytes, self.log_backups)
        try:
            await self._restarting()
        finally:
            self.log.close()

    async def _restarting(self) -> None:
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
        assert self.log is not None
        try:
            # Own session: a Ctrl-C in the terminal reaches only the launcher, which then
            # stops the children in order; and the child dies with the launcher.
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                limit=LINE_LIMIT,
                preexec_fn=die_with(os.getpid()),
            )
        except OSError as e:
            self.log.write(f"[yiwang] {self.name} failed to start: {e}")
            return f"failed to start: {e}"
        self.pid_file.write_text(f"{self.proc.pid}\n")
        assert self.proc.stdout is not None
        pump = asyncio.create_task(self.log.pump(self.proc.stdout), name=f"log-{self.name}")
        waiter = asyncio.create_task(self.proc.wait())
        stop = asyncio.create_task(self.stopping.wait())
        try:
            await asyncio.wait({waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():
                await self._terminate(waiter)
        except asyncio.CancelledError:
            # Torn down without a stop (the launcher is failing): the child must not outlive
            # it, and its pid file stays while it may still run, so `yiwang stop` finds it.
            if not waiter.done():
                self._signal(signal.SIGTERM)
            raise
        finally:
            stop.cancel()
        self.pid_file.unlink(missing_ok=True)
        # Its last lines (a traceback as it died) are in the pipe still.
        try:
            await asyncio.wait_for(pump, DRAIN_S)
        except TimeoutError:
            pass
        return waiter.result()

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
        if self.proc is None:
            return
        try:  # the child leads its own process group: signal whatever it spawned too
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
