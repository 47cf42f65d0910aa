"""The territory service: the region tree, boundaries and locating a point, grid workers, territory figures."""
