"""Pure helpers of the cases store."""
from __future__ import annotations

import random

from services.cases.store import cell_of, nearby_cells
from shared.geo import haversine_m


def test_nearby_cells_cover_every_point_within_the_duplicate_radius():
    rnd = random.Random(3)
    for _ in range(2000):
        lng, lat = rnd.uniform(73, 135), rnd.uniform(18, 53)
        cells = set(nearby_cells(lng, lat))
        assert len(cells) == 4
        for _ in range(5):
            # a point within 100 m in a random direction
            dx, dy = rnd.uniform(-1, 1), rnd.uniform(-1, 1)
            olng, olat = lng + dx * 0.0009, lat + dy * 0.0009
            if haversine_m(lng, lat, olng, olat) <= 100:
                assert cell_of(olng, olat) in cells


def test_page_windows_settle_on_what_fills_a_page():
    from shared.paging import PageWindows
    w = PageWindows()
    first = w.plan("city")
    assert first[0] == 1.0 and first[1:3] == [6.0, 36.0] and first[-2:] == [366 * 24, None]
    assert all(a < b for a, b in zip(first[:-2], first[1:-1]))
    # a busy list: the first window fills the page, so it halves, down to five minutes
    for _ in range(10):
        planned = w.plan("city")
        w.learn("city", planned, planned[0])
    assert w.plan("city")[0] == PageWindows.MIN_HOURS
    # a quiet list: filled by a later window, which it reads first next time
    planned = w.plan("grid")
    w.learn("grid", planned, planned[3])
    assert w.plan("grid")[0] == planned[3] and w.plan("city")[0] == PageWindows.MIN_HOURS
    # fewer than a page in all: the year at once, then everything
    w.learn("empty", w.plan("empty"), None)
    assert w.plan("empty") == [366 * 24, None]
