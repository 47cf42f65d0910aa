"""The AsyncAPI documents say what the bus does: every event a service can publish, on a subject
`event_subject`/`dept_subjects` really produce for paths of each length, matches a channel of the
service's document; addresses declare their parameters; bindings are the standard NATS ones;
every field is described; nothing but the service's own events is listed."""

from __future__ import annotations

import ast
import importlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ops.cli.asyncapi import DOCUMENTED
from services.cases.domain import EVENT_TYPES as CASE_EVENTS
from services.organizations.domain import EVENT_FIELDS as ORG_FIELDS
from services.organizations.domain import EVENT_TYPES as ORG_EVENTS
from services.volunteers.domain import EVENT_FIELDS as VOL_FIELDS
from services.volunteers.domain import EVENT_TYPES as VOL_EVENTS
from shared.asyncapi import CONTENT_TYPE, NATS_BINDING_VERSION, address_pattern, spec
from shared.contracts.grids import GRID_EVENTS
from shared.messaging.envelope import make_event
from shared.messaging.subjects import dept_subjects, event_subject
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# A realistic path of each length: city, county, street, community, grid, building.
PATH = ["310000", "310104", "310104001", "310104001001", "g-310104001001-03", "b-0042"]
DEPT_KEYS = ["310104:HOUSING", "310000:URBAN_MGMT"]
# The event types each service declares in its code (the clocks' and catalogue's cases events
# are outside the case model).
DECLARED = {
    "cases": {*CASE_EVENTS, "WORK_CALENDAR_CHANGED", "CATALOGUE_CHANGED"},
    "grids": set(GRID_EVENTS),
    "organizations": set(ORG_EVENTS),
    "volunteers": set(VOL_EVENTS),
}


@cache
def document(service: str) -> dict[str, Any]:
    app = importlib.import_module(f"services.{service}.app")
    return spec(app.create_runtime(Settings()))


def emitted_in_source(service: str) -> set[str]:
    """Event types the service's code names where it records an event: `make_event(SERVICE,
    "TYPE", …)`, `._emit("TYPE", …)` (and `_emit_at`, `_emit_t`), `type: ClassVar[str] = "TYPE"`,
    `serve_attach(…, EVENT)`, and UPPER_SNAKE constants passed to them (`EVENT = "…"`)."""
    found: set[str] = set()
    constants: dict[str, str] = {}
    calls: list[ast.Call] = []
    for path in (ROOT / "services" / service).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):  # `A, B = "…", "…"`
                for t, v in zip(getattr(node.targets[0], "elts", []), node.value.elts, strict=False):
                    if isinstance(t, ast.Name) and isinstance(v, ast.Constant) and isinstance(v.value, str):
                        constants[t.id] = v.value
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name) and isinstance(node.value.value, str):
                        if t.id == "type" and re.fullmatch(r"[A-Z][A-Z_]+", node.value.value):
                            found.add(node.value.value)
                        constants[t.id] = node.value.value
            if isinstance(node, ast.Call):
                calls.append(node)
    for call in calls:
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        position = {"make_event": 1, "_emit": 0, "_emit_at": 1, "_emit_t": 0, "ledger_event": 1, "serve_attach": 7}.get(
            name
        )
        if position is None or len(call.args) <= position:
            continue
        arg = call.args[position]
        named = arg.attr if isinstance(arg, ast.Attribute) else getattr(arg, "id", "")
        value = arg.value if isinstance(arg, ast.Constant) else constants.get(named)
        if isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z_]+", value):
            found.add(value)
    return found


def channels_matching(doc: dict[str, Any], subject: str) -> list[str]:
    return [k for k, c in doc["channels"].items() if address_pattern(c["address"]).fullmatch(subject)]


def test_every_service_is_documented():
    assert {"grids", "cases", "organizations", "volunteers"} <= set(DOCUMENTED)
    for service in DOCUMENTED:
        doc = document(service)
        assert doc["asyncapi"] == "3.0.0" and doc["defaultContentType"] == CONTENT_TYPE
        # a service that records events documents them (document_events in its app)
        assert doc["channels"] or not emitted_in_source(service), f"{service} documents none of its events"


@pytest.mark.parametrize("service", sorted(DECLARED))
def test_one_channel_per_declared_event_type(service):
    doc = document(service)
    region = {c["address"].split(".")[3] for c in doc["channels"].values() if c["address"].startswith("yiwang.evt.")}
    assert region == DECLARED[service]
    assert emitted_in_source(service) <= DECLARED[service], "an event the code records is not declared"


@pytest.mark.parametrize("service", DOCUMENTED)
def test_every_event_the_code_records_has_a_channel(service):
    doc = document(service)
    region = {c["address"].split(".")[3] for c in doc["channels"].values() if c["address"].startswith("yiwang.evt.")}
    assert emitted_in_source(service) <= region


@pytest.mark.parametrize("service", DOCUMENTED)
def test_published_subjects_match_exactly_one_channel_of_their_event(service):
    """Subjects as `event_subject` and `dept_subjects` make them, for a path of every length and
    none, each match one channel, whose message is the event's."""
    doc = document(service)
    events = {c["address"].split(".")[3] for c in doc["channels"].values() if c["address"].startswith("yiwang.evt.")}
    copies = {c["address"].split(".")[-1] for c in doc["channels"].values() if c["address"].startswith("yiwang.dept.")}
    for event in events:
        tail = next(c["address"] for c in doc["channels"].values() if c["address"].startswith(f"yiwang.evt.{service}.{event}."))
        # `>`: a region path of any length, or none; `_`: none; `{key}`: one token
        depths = {"_": [0], ">": range(len(PATH) + 1)}.get(tail.rsplit(".", 1)[1], [1])
        for depth in depths:
            data = {"deptKeys": DEPT_KEYS} if event in copies else {}
            e = make_event(service, event, "rec-1", data, path=PATH[:depth])
            subjects = [event_subject(e), *dept_subjects(e)]
            assert len(subjects) == (3 if event in copies else 1)
            for subject in subjects:
                matched = channels_matching(doc, subject)
                assert len(matched) == 1, (subject, matched)
                assert list(doc["channels"][matched[0]]["messages"]) == [event]
    # and a subject of another service or event matches nothing
    assert not channels_matching(doc, f"yiwang.evt.{service}.NO_SUCH_EVENT.310000")
    for event in events:
        assert not channels_matching(doc, f"yiwang.evt.other.{event}.310000")


def test_the_address_match_is_nats_wildcard_matching():
    p = address_pattern("yiwang.evt.cases.REPORTED.>")
    assert p.fullmatch("yiwang.evt.cases.REPORTED._") and p.fullmatch("yiwang.evt.cases.REPORTED." + ".".join(PATH))
    assert not p.fullmatch("yiwang.evt.cases.REPORTED") and not p.fullmatch("yiwang.evt.cases.REPORTED_X.1")
    q = address_pattern("yiwang.dept.cases.{deptRegion}.{deptCode}.REPORTED")
    assert q.fullmatch("yiwang.dept.cases.310104.HOUSING.REPORTED")
    assert not q.fullmatch("yiwang.dept.cases.310104.HOUSING.X.REPORTED")


def test_case_events_have_a_department_copy_channel_with_its_parameters():
    doc = document("cases")
    copies = sorted(c["address"] for c in doc["channels"].values() if c["address"].startswith("yiwang.dept."))
    assert copies == sorted(f"yiwang.dept.cases.{{deptRegion}}.{{deptCode}}.{e}" for e in CASE_EVENTS)
    data = doc["components"]["schemas"]["CasesCaseDispatchedData"]
    assert {"deptKeys", "lead", "cooperating", "case_id"} <= set(data["properties"])


@pytest.mark.parametrize("service", DOCUMENTED)
def test_addresses_declare_their_parameters_and_channels_say_what_they_carry(service):
    for key, channel in document(service)["channels"].items():
        names = set(re.findall(r"\{(\w+)\}", channel["address"]))
        assert set(channel.get("parameters", {})) == names, key
        assert all(p["description"].strip() for p in channel.get("parameters", {}).values()), key
        assert channel["description"].strip() and channel["summary"].strip(), key
        assert channel["address"].startswith(("yiwang.evt.", "yiwang.dept.")), key  # no request subjects


@pytest.mark.parametrize("service", DOCUMENTED)
def test_operations_are_sends_with_the_standard_nats_binding(service):
    doc = document(service)
    assert set(doc["operations"]) == {f"publish.{k}" for k in doc["channels"]}
    for op in doc["operations"].values():
        assert op["action"] == "send"
        assert op["bindings"] == {"nats": {"bindingVersion": NATS_BINDING_VERSION}}
    for message in doc["components"]["messages"].values():
        assert message["contentType"] == CONTENT_TYPE
        assert message["summary"].strip()


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        return {node["$ref"]} if "$ref" in node else set().union(*(refs(v) for v in node.values()), set())
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node), set())
    return set()


@pytest.mark.parametrize("service", DOCUMENTED)
def test_no_orphan_components(service):
    doc = document(service)
    used = refs(doc["channels"])
    assert {f"#/components/messages/{m}" for m in doc["components"]["messages"]} == used
    schemas = doc["components"]["schemas"]
    reached, todo = set(), [r for r in refs(doc["components"]["messages"])]
    while todo:
        name = todo.pop().rsplit("/", 1)[-1]
        if name not in reached:
            reached.add(name)
            todo.extend(refs(schemas[name]))
    assert reached == set(schemas)


def properties(schema: dict[str, Any], where: str):
    for name, value in schema.get("properties", {}).items():
        yield f"{where}.{name}", value
        yield from properties(value, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from properties(schema[key], f"{where}[]")
    for key in ("anyOf", "allOf", "oneOf"):
        for i, sub in enumerate(schema.get(key, [])):
            yield from properties(sub, f"{where}|{i}")


@pytest.mark.parametrize("service", DOCUMENTED)
def test_every_field_is_described(service):
    doc = document(service)
    missing = [
        where
        for name, schema in doc["components"]["schemas"].items()
        for where, value in properties(schema, name)
        if not str(value.get("description", "")).strip()
    ]
    assert not missing, missing


def emit_keywords(service: str) -> dict[str, set[str]]:
    """Event type → the keyword names its `_emit` calls in the service's domain give."""
    out: dict[str, set[str]] = {}
    for path in (ROOT / "services" / service / "domain").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr.startswith("_emit")
            ):
                types = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if types:
                    out.setdefault(types[0], set()).update(k.arg for k in node.keywords if k.arg)
    return out


@pytest.mark.parametrize(("service", "fields"), [("organizations", ORG_FIELDS), ("volunteers", VOL_FIELDS)])
def test_the_documented_fields_are_those_the_domain_records(service, fields):
    emitted = emit_keywords(service)
    assert emitted, "no _emit call found: the scan no longer reads the domain"
    assert set(fields) == set(DECLARED[service])
    for event, names in emitted.items():
        assert names <= set(fields[event]), (event, names - set(fields[event]))


def test_case_events_carry_no_contact_data():
    schemas = document("cases")["components"]["schemas"]
    fields = {f.lower() for s in schemas.values() for f in s.get("properties", {})}
    contact = ("phone", "reporter_name", "idnumber", "id_number", "address")
    assert not {f for f in fields if any(c in f for c in contact)}, fields


@pytest.mark.parametrize("service", DOCUMENTED)
def test_documents_describe_what_the_bus_carries(service: str) -> None:
    """No document lists a field `bus_data` keeps off the bus (a resident's sub, a name, a phone,
    exact coordinates); a place is documented as the cell events carry."""
    from shared.messaging.bus import PERSONAL_KEYS, POINT_KEYS

    schemas = document(service)["components"]["schemas"]
    listed = {(name, prop) for name, s in schemas.items() for prop in s.get("properties", {})}
    assert not {(n, p) for n, p in listed if p in PERSONAL_KEYS | POINT_KEYS}
    if service == "cases":
        reported = schemas["CasesReportedData"]["properties"]
        assert "cell" in reported and "location" not in reported
        assert "name" not in schemas["Assignee"]["properties"]
