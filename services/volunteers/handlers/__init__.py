"""The volunteers handlers, one module per domain module over a shared `Context`; the verb table is `subjects`."""

from services.volunteers.handlers.common import SERVICE, Context
from services.volunteers.handlers.subjects import table

__all__ = ["SERVICE", "Context", "table"]
