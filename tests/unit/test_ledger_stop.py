"""A session ledger stops when asked, even when the stop arrives during a heartbeat write."""
from __future__ import annotations

import asyncio

from pymongo.errors import AutoReconnect

from shared.mongo import SessionLedger


class _WriteInFlight(SessionLedger):
    """A heartbeat in flight when the stop comes, failing the way PyMongo's async network layer
    fails a cancelled operation (`_OperationCancelled`, an AutoReconnect). A second heartbeat
    means the loop swallowed its stop: it ends the loop with an error instead of running on."""

    def __init__(self) -> None:
        super().__init__(db=None, beat_s=0.0)  # type: ignore[arg-type] - _run writes nothing here
        self.writing = asyncio.Event()

    async def beat(self) -> None:
        if self.writing.is_set():
            raise RuntimeError("the heartbeat loop went on after it was stopped")
        self.writing.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise AutoReconnect("operation cancelled") from None


async def test_a_stop_during_a_heartbeat_write_ends_the_loop():
    ledger = _WriteInFlight()
    task = asyncio.create_task(ledger._run())
    await ledger.writing.wait()
    task.cancel()
    await asyncio.wait({task})
    assert task.cancelled(), task.exception()
