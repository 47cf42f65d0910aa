from __future__ import annotations

from services.cases.app import create_runtime as cases_runtime
from services.cases.domain import EVENT_TYPES
from services.grids.app import create_runtime as grids_runtime
from services.organizations.app import create_runtime as org_runtime
from services.organizations.domain import EVENT_TYPES as ORG_EVENT_TYPES
from services.volunteers.app import create_runtime as vol_runtime
from services.volunteers.domain import EVENT_TYPES as VOL_EVENT_TYPES
from shared.asyncapi import spec
from shared.contracts.grids import GRID_EVENTS
from shared.settings import Settings


def test_every_event_type_is_documented_with_its_envelope():
    case_events = [*EVENT_TYPES, "WORK_CALENDAR_CHANGED"]  # clocks: the one cases event outside a case
    for runtime, events in ((cases_runtime, case_events), (grids_runtime, GRID_EVENTS),
                            (org_runtime, ORG_EVENT_TYPES), (vol_runtime, VOL_EVENT_TYPES)):
        doc = spec(runtime(Settings()))
        assert doc["asyncapi"].startswith("3.")
        addresses = sorted(c["address"].split(".")[3] for c in doc["channels"].values()
                           if c["address"].startswith("yiwang.evt."))
        assert addresses == sorted(events)
        schemas = doc["components"]["schemas"]
        envelopes = [n for n in schemas if n.endswith("Event") and n != "CloudEvent" and "DepartmentCopy" not in n]
        assert len(envelopes) == len(events)
        for name in envelopes:
            assert {"specversion", "id", "source", "type", "subject", "data", "regionpath"} <= set(schemas[name]["properties"])


def test_every_case_event_has_a_department_copy_channel():
    doc = spec(cases_runtime(Settings()))
    copies = sorted(c["address"] for c in doc["channels"].values() if c["address"].startswith("yiwang.dept."))
    assert copies == sorted(f"yiwang.dept.cases.{{deptRegion}}.{{deptCode}}.{e}" for e in EVENT_TYPES)
    data = doc["components"]["schemas"]["CasesCaseDispatchedDepartmentCopyData"]
    assert {"deptKeys", "lead", "cooperating", "case_id"} <= set(data["properties"])


def test_case_events_carry_no_personal_data():
    schemas = spec(cases_runtime(Settings()))["components"]["schemas"]
    fields = {f.lower() for s in schemas.values() for f in s.get("properties", {})}
    contact = ("phone", "reporter_name", "idnumber", "id_number", "address")
    assert not {f for f in fields if any(c in f for c in contact)}, fields
