"""The pure domain of the territory: the region tree, boundary rules, grid workers, rollup counters, policy."""
from .boundaries import audit, check_moved, check_placed, frontier, label, nearest_bounded
from .counters import COUNTERS, counters_of_node, counters_of_worker, counters_view, recount
from .policy import (
                     MANAGERS,
                     SCOPE,
                     STAFF,
                     WORKER_READERS,
                     WORKER_SCOPE,
                     check_may_audit,
                     check_may_create,
                     check_may_move,
                     list_scope,
                     may_read_worker,
                     sees_worker_phone,
)
from .regions import (
                     PARENT_LEVEL,
                     Level,
                     Region,
                     ancestors_below,
                     changed_fields,
                     check_code,
                     check_id,
                     check_move,
                     check_name,
                     check_parent,
                     check_version,
                     crumb,
                     moved_path,
                     new_region,
                     renames,
                     subtree_rewrites,
)
from .workers import WORKER_ROLE_NAMES, WorkerRole, check_phone, check_reassignment, check_worker_grid

__all__ = [
    "COUNTERS", "MANAGERS", "PARENT_LEVEL", "SCOPE", "STAFF", "WORKER_READERS", "WORKER_ROLE_NAMES", "WORKER_SCOPE",
    "Level", "Region",
    "WorkerRole", "ancestors_below", "audit", "changed_fields", "check_code", "check_id", "check_may_audit",
    "check_may_create", "check_may_move", "check_move", "check_moved", "check_name", "check_parent", "check_phone",
    "check_placed", "check_reassignment", "check_version", "check_worker_grid", "counters_of_node",
    "counters_of_worker", "counters_view", "crumb", "frontier", "label", "list_scope", "may_read_worker",
    "moved_path", "nearest_bounded", "new_region", "recount", "renames", "sees_worker_phone", "subtree_rewrites",
]
