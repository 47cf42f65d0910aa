"""Request handlers of the cases service: a module per domain module over one `CaseContext`; subjects in `table.py`."""

from services.cases.handlers.context import SERVICE, CaseContext, sla_of

__all__ = ["SERVICE", "CaseContext", "sla_of"]
