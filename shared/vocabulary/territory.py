"""Territory: the levels of the region tree and the roles of grid workers."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    CITY = "CITY"
    COUNTY = "COUNTY"
    TOWNSHIP = "TOWNSHIP"
    COMMUNITY = "COMMUNITY"
    GRID = "GRID"
    BUILDING = "BUILDING"


class WorkerRole(StrEnum):
    """一张网三大员."""

    BASIC = "BASIC"  # 基础网格员
    CONVENIENCE = "CONVENIENCE"  # 便民服务员
    FINANCE = "FINANCE"  # 财经管理员
