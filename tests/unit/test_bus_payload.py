"""Personal data off the bus: every event model of every service, passed through the one payload rule
(`shared.messaging.bus.bus_data`, applied by `make_event`), carries no resident sub, name, phone, ID
number, resident's text or exact point; and a resident's actor is their role."""
from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel

from services.cases.domain.events import EVENT_TYPES as CASE_EVENTS
from services.organizations.app import event_models as org_event_models
from services.volunteers.app import event_models as volunteer_event_models
from shared.auth import Principal, Role, public_actor
from shared.contracts.grids import GRID_EVENTS
from shared.messaging.envelope import make_event

# Written here, not imported: the test's own idea of a personal field, so the rule cannot agree with
# itself. A field whose name matches is allowed only if the payload rule removes it.
PERSONAL = re.compile(r"(^|_)(sub|subs|visitor|phone|id_?number|address|lng|lat|location|point|description|comment)$"
                      r"|(reporter|resident|holder|taker|requester)_?(sub|name|phone)", re.I)
SUB = "resident-sub-7f3a"
POINT = {"lng": 121.473701, "lat": 31.230416}


def models() -> list[tuple[str, str, type[BaseModel]]]:
    out = [("cases", name, cls) for name, cls in CASE_EVENTS.items()]
    out += [("grids", name, cls) for name, cls in GRID_EVENTS.items()]
    out += [("organizations", name, cls) for name, cls in org_event_models().items()]
    out += [("volunteers", name, cls) for name, cls in volunteer_event_models().items()]
    return out


def sample(name: str) -> Any:
    """A value a personal field could hold: a point, a sub, text."""
    if re.search(r"location|point", name, re.I):
        return dict(POINT)
    return SUB


def fields(model: type[BaseModel]) -> list[str]:
    names = []
    for n, f in model.model_fields.items():
        names.append(n)
        if f.alias:
            names.append(f.alias)
        ann = f.annotation
        for arg in (getattr(ann, "__args__", None) or (ann,)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):  # one level of nested models
                names += [f"{n}.{m}" for m in arg.model_fields]
    return names


@pytest.mark.parametrize(("service", "name", "model"), models(), ids=lambda x: x if isinstance(x, str) else "")
def test_no_event_model_carries_a_personal_field_onto_the_bus(service: str, name: str, model: type[BaseModel]):
    for field in fields(model):
        leaf = field.rsplit(".", 1)[-1]
        if not PERSONAL.search(leaf):
            continue
        data: dict[str, Any] = {}
        cursor = data
        *parents, last = field.split(".")
        for p in parents:
            cursor = cursor.setdefault(p, {})
        cursor[last] = sample(last)
        envelope = make_event(service, name, "x1", data, path=["city"]).model_dump_json()
        assert SUB not in envelope, f"{service}.{name}.{field} reaches the bus"
        assert str(POINT["lng"]) not in envelope and str(POINT["lat"]) not in envelope, f"{service}.{name}.{field}"


def test_a_point_becomes_its_coarse_cell_and_people_in_references_lose_their_names():
    data = make_event("cases", "REPORTED", "c1", {
        "location": POINT, "reporter_sub": SUB, "title": "井盖缺失", "category_code": "ROAD",
        "assignee": {"kind": "VOLUNTEER", "id": "v1", "name": "张三"}, "items": [{"phone": "13800000000", "n": 1}],
        "worker": {"id": "w1", "sub": "gw-1", "name": "李四", "gridId": "g1"},
    }, path=["city"]).data
    assert data == {"cell": "12147:3123", "title": "井盖缺失", "category_code": "ROAD",
                    "assignee": {"kind": "VOLUNTEER", "id": "v1"}, "items": [{"n": 1}],
                    "worker": {"id": "w1", "gridId": "g1"}}


@pytest.mark.parametrize("role", list(Role))
def test_an_events_actor_is_a_staff_or_service_sub_or_else_only_the_role(role: Role):
    actor = public_actor(Principal(sub=SUB, role=role))
    if role in (Role.RESIDENT, Role.VOLUNTEER, Role.BUILDING_LEADER):
        assert actor == str(role)
    else:
        assert actor == SUB
    assert public_actor(None) is None
