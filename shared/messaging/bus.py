"""What an event may carry on the bus: the one rule keeping who a resident is and where exactly off it.

Every envelope is made by `envelope.make_event`, which passes its data through `bus_data`: the
outbox (the service's event log, and what its projections and replay read) and JetStream hold the
same payload, so nothing personal is stored to be leaked later. Consumers get ids, the grid and
region path, category, level, statuses and times; a place at most as the ~1 km cell it lies in
(`cell`); never a resident's `sub`, a person's name, phone or ID number, or text a resident wrote.
A consumer that needs more asks the owning service through a verb (with its own token).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.geo import cell_of

# Keys never carried, at any depth (snake and camel case as the services write them).
PERSONAL_KEYS = frozenset(
    {
        # who a person is: a login (a resident's, a volunteer's; staff are named only as an actor)
        "sub",
        "visitor",  # the login of whoever visited a household (a building leader is a resident)
        "reporter_sub",
        "reporterSub",
        "reporterSubs",
        "resident_sub",
        "residentSub",
        "taker_sub",
        "takerSub",
        "requester_sub",
        "requesterSub",
        # people's names, phones, ID numbers
        "reporter_name",
        "reporterName",
        "reporterPhone",
        "holder_name",
        "holderName",
        "phone",
        "phone_enc",
        "id_number",
        "idNumber",
        "address",
        # text a resident wrote (a report's description, a rating's comment)
        "description",
        "comment",
        # exact places
        "lng",
        "lat",
    }
)
# A reference to a person (a case's assignee, a dispatch target, a grid worker, a 包联 cadre): kind
# and id are kept, the name is not (a volunteer is a resident).
PERSON_REFS = frozenset({"assignee", "returned_by", "returnedBy", "target", "previous_taker", "worker", "assignment"})
POINT_KEYS = frozenset({"location", "point"})  # a {lng, lat} under these becomes its `cell`
BUS_CELL_DEG = 0.01  # about 1 km: the coarsest place an event names (a grid names the same area)


def bus_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The payload an event carries on the bus: `data` without personal keys, a point as its cell."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in PERSONAL_KEYS:
            continue
        if key in POINT_KEYS:
            if isinstance(value, Mapping) and isinstance(value.get("lng"), int | float):
                out["cell"] = cell_of(float(value["lng"]), float(value["lat"]), BUS_CELL_DEG)
            continue
        if key in PERSON_REFS and isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if k != "name"}
        out[key] = _public(value)
    return out


def _public(value: Any) -> Any:
    if isinstance(value, Mapping):
        return bus_data(value)
    if isinstance(value, list | tuple):
        return [_public(v) for v in value]
    return value
