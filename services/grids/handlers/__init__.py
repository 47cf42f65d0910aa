"""Request handlers of the territory service: a module per domain module over one `GridContext`; verbs in table.py."""

from services.grids.handlers.context import SERVICE, GridContext

__all__ = ["SERVICE", "GridContext"]
