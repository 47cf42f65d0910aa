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
