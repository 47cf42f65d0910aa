"""A territory that grows by a bulk load (a city seeded against a running stack) is frozen out
of later garbage-collector scans at the next resync, as what a service loads at start is."""
from __future__ import annotations

import asyncio
import gc
from datetime import datetime

from shared.territory import FREEZE_AFTER, RegionIndex


class Grown(RegionIndex):
    async def load(self) -> None:
        self.replace_all({})

    async def load_changed(self, since: datetime) -> None:
        return None


async def test_a_bulk_load_is_frozen_at_the_next_resync_and_a_trickle_is_not():
    idx = Grown(resync_s=0.01)
    gc.unfreeze()
    await idx.start()
    try:
        for i in range(FREEZE_AFTER - 1):
            idx.remember(f"b{i}", {"level": "BUILDING", "path": ["city", f"b{i}"]})
        await asyncio.sleep(0.05)
        assert gc.get_freeze_count() == 0  # a few regions now and then: nothing to freeze for
        idx.remember("b-last", {"level": "BUILDING", "path": ["city", "b-last"]})
        for _ in range(100):
            if gc.get_freeze_count():
                break
            await asyncio.sleep(0.01)
        assert gc.get_freeze_count() > 0 and idx._unfrozen == 0
    finally:
        await idx.stop()
        gc.unfreeze()
