"""The cases service (诉求 / 事件 / 矛盾纠纷): reports and their workflow, the dispatch catalogue, hotspots, rollups."""
