"""The AsyncAPI 3.0 document of a service's events, built from the models it publishes with.

A service declares each event type it publishes (`document_events`: the type and the model of
its `data`) and, for the records departments handle, that each event is also copied to the
departments on it (`document_department_copies`). `spec(rt)` turns the declarations into one
document: a channel per event type on its real subject (`event_subject`: the region path is a
tail of 1 to 6 ids, or `_` outside the territory, so the address ends in NATS's `>`), a channel
per department copy (`dept_subjects`, with its two parameters), one `send` operation per
channel with the standard NATS operation binding, one message per event type whose payload is
the whole CloudEvents envelope, and the schemas those messages use: nothing else.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo
from pydantic.json_schema import models_json_schema

from shared.messaging.bus import PERSON_REFS, PERSONAL_KEYS, POINT_KEYS
from shared.messaging.envelope import CloudEvent
from shared.messaging.subjects import DEPT, EVT
from shared.service import ServiceRuntime

CONTENT_TYPE = "application/cloudevents+json"
# The NATS bindings (github.com/asyncapi/bindings/tree/master/nats): an operation binding with an
# optional `queue`; the server, channel and message bindings are reserved and carry no field.
NATS_BINDING_VERSION = "0.1.0"
OUTSIDE = "_"  # the last token of an event about no territory node (`event_subject`)
MAX_DEPTH = 6  # city, county, township, community, grid, building
_DECLARED: weakref.WeakKeyDictionary[ServiceRuntime, list[EventDoc]] = weakref.WeakKeyDictionary()
_DESCRIPTIONS: weakref.WeakKeyDictionary[ServiceRuntime, dict[str, str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class EventDoc:
    """One event type a service publishes: its name, the model of its `data`, and where it goes."""

    event: str
    model: type[BaseModel]  # the envelope (`envelope_model`)
    summary: str
    outside_only: bool = False  # always about no node: the subject ends in `_`
    department_copy: bool = False  # also on `yiwang.dept.<service>.<region>.<code>.<EVENT>`
    key: tuple[str, str] | None = None  # the tail is one key, not a region path: (parameter, what it is)


def first_line(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").strip().split("\n\n")[0].split())


def description_of(descriptions: Mapping[str, str], owner: str, name: str) -> str | None:
    """The description of field `name` of model `owner`: `<owner>.<name>`, else `<name>`."""
    return descriptions.get(f"{owner}.{name}") or descriptions.get(name)


def described(field: FieldInfo, descriptions: Mapping[str, str], owner: str, name: str) -> FieldInfo:
    """`field`, with the description `descriptions` gives it where it has none of its own."""
    if field.description or not (text := description_of(descriptions, owner, name)):
        return field
    return FieldInfo.merge_field_infos(field, description=text)


def envelope_model(
    service: str,
    event: str,
    data: type[BaseModel],
    drop: tuple[str, ...] = (),
    delta: bool = True,
    dept_keys: bool = False,
    descriptions: Mapping[str, str] | None = None,
    typed: bool = False,
) -> type[BaseModel]:
    """The CloudEvents envelope of `event` with `data` as its data (less `drop`), as published
    (`typed`: `data.type` repeats the event type, as a case's events do)."""
    docs = descriptions or {}
    fields: dict[str, Any] = {
        n: (f.annotation, described(f, docs, data.__name__, n)) for n, f in data.model_fields.items() if n not in drop
    }
    if dept_keys:
        fields["deptKeys"] = (
            list[str],
            Field(
                default_factory=list,
                description="The departments on the record (承办部门), each `<department region id>:<code>`; "
                "the event is copied to each of them on `yiwang.dept.…`",
            ),
        )
    if delta:
        fields["delta"] = (
            dict[str, int],
            Field(
                default_factory=dict,
                description="Change of the region counters (统计) this event caused, by counter name "
                "(on the first event of a command; empty on the others)",
            ),
        )
    name = service.title() + "".join(w.title() for w in event.split("_"))
    # `type` is the one value `event`: a Literal made at run time (a type checker sees an expression)
    event_type: Any = Literal[event]
    if typed:
        fields = {"type": (event_type, Field(event, description=f"The event type, `{event}`")), **fields}
    payload = create_model(f"{name}Data", __doc__=data.__doc__, __config__=data.model_config, **fields)
    ce_type: Any = Literal[f"yiwang.{service}.{event}.v1"]
    source: Any = Literal[f"/yiwang/{service}"]
    return create_model(
        f"{name}Event",
        __base__=CloudEvent,
        __doc__=f"{first_line(data) or event}. CloudEvents 1.0 envelope (structured JSON)",
        type=(ce_type, Field(description="CloudEvents `type`: `yiwang.<service>.<EVENT>.v<schema version>`")),
        source=(source, Field(description="CloudEvents `source`: the publishing service, `/yiwang/<service>`")),
        data=(payload, Field(description="The event's own fields")),
    )


def _declared(rt: ServiceRuntime) -> list[EventDoc]:
    if rt not in _DECLARED:
        _DECLARED[rt] = []

        async def asyncapi(_req: Any) -> dict:
            return spec(rt)

        rt.route("asyncapi", asyncapi)
    return _DECLARED[rt]


def document_events(
    rt: ServiceRuntime,
    events: Mapping[str, type[BaseModel]],
    drop: tuple[str, ...] = (),
    delta: bool = True,
    descriptions: Mapping[str, str] | None = None,
    outside_only: bool = False,
    dept_keys: bool = False,
    typed: bool = False,
    key: tuple[str, str] | None = None,
) -> None:
    """Declare the event types `rt` publishes on `yiwang.evt.<service>.<EVENT>.<region path…>`,
    each with the model of its `data` (less `drop`; `delta`: the region counters' change is added;
    `descriptions`: field name → description for fields without one; `outside_only`: always about
    no territory node, so the subject ends in `_`; `dept_keys`: `data.deptKeys` may name departments;
    `typed`: `data.type` repeats the event type; `key`: the subject ends in one key of another kind
    than a region path, (its parameter name, what it is), e.g. an inbox key)."""
    declared = _declared(rt)
    _DESCRIPTIONS.setdefault(rt, {}).update(descriptions or {})
    for name, model in events.items():
        declared.append(
            EventDoc(
                name,
                envelope_model(rt.name, name, model, drop, delta, dept_keys, descriptions, typed),
                first_line(model) or name,
                outside_only,
                key=key,
            )
        )


def document_department_copies(rt: ServiceRuntime, events: Mapping[str, type[BaseModel]]) -> None:
    """The event types (declared with `document_events`) that are also copied, once for each
    department a record names in `data.deptKeys`, to `yiwang.dept.<service>.<region>.<code>.<EVENT>`
    (`dept_subjects`): a subject space a department's NATS user can be confined to."""
    declared = _declared(rt)
    for i, doc in enumerate(declared):
        if doc.event in events:
            declared[i] = EventDoc(doc.event, doc.model, doc.summary, doc.outside_only, True, doc.key)


def region_address(service: str, event: str, outside_only: bool = False, key: str | None = None) -> str:
    tail = f"{{{key}}}" if key else OUTSIDE if outside_only else ">"
    return f"{EVT}.{service}.{event}.{tail}"


def dept_address(service: str, event: str) -> str:
    return f"{DEPT}.{service}.{{deptRegion}}.{{deptCode}}.{event}"


def address_pattern(address: str) -> re.Pattern[str]:
    """The subjects a channel address stands for: `{param}` and NATS `*` one token, `>` one or more."""
    parts = []
    for token in address.split("."):
        if token == ">":
            parts.append(r"[^.]+(?:\.[^.]+)*")
        elif token == "*" or re.fullmatch(r"\{\w+\}", token):
            parts.append(r"[^.]+")
        else:
            parts.append(re.escape(token))
    return re.compile(r"\.".join(parts))


def _region_channel(service: str, doc: EventDoc) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    if doc.key:
        name, what = doc.key
        parameters[name] = {"description": what}
        where = f"Its subject ends in one token, `{{{name}}}` (see the parameter), not in a region path."
    elif doc.outside_only:
        where = "It is about no territory node, so its subject ends in `_`."
    else:
        where = (
            "The subject ends with the region path of the record: its region ids from the city down, "
            f"1 to {MAX_DEPTH} of them by where the record is (6 at a building, 5 at a grid, 3 at a street), "
            "or `_` for a record outside the territory. Subscribe to one subtree with "
            f"`{EVT}.{service}.{doc.event}.<city>.<county>` and `{EVT}.{service}.{doc.event}.<city>.<county>.>` "
            "(the node itself and everything below it)."
        )
    return {
        "address": region_address(service, doc.event, doc.outside_only, doc.key[0] if doc.key else None),
        "title": f"{service}.{doc.event}",
        "summary": doc.summary,
        "description": f"{doc.summary.rstrip('.')}. {where}",
        **({"parameters": parameters} if parameters else {}),
        "messages": {doc.event: {"$ref": f"#/components/messages/{doc.event}"}},
    }


def _dept_channel(service: str, doc: EventDoc) -> dict[str, Any]:
    return {
        "address": dept_address(service, doc.event),
        "title": f"{service}.{doc.event} for a department",
        "summary": f"{doc.summary.rstrip('.')} (the copy for a department on the record)",
        "description": (
            f"The same event as on `{region_address(service, doc.event)}`, published once more for each "
            "department the record names in `data.deptKeys`, on a subject space of the department's own. "
            f"A department subscribes to `{DEPT}.{service}.<its region id>.<its code>.*` for all its events; "
            "its NATS user may be confined to exactly that."
        ),
        "parameters": {
            "deptRegion": {
                "description": "The id of the region the department belongs to (部门所属区划), "
                "the part before `:` in a `deptKeys` entry",
                "examples": ["310104"],
            },
            "deptCode": {
                "description": "The department's code in the directory (部门编码), the part after `:`",
                "examples": ["HOUSING"],
            },
        },
        "messages": {doc.event: {"$ref": f"#/components/messages/{doc.event}"}},
    }


def spec(rt: ServiceRuntime) -> dict[str, Any]:
    service, declared = rt.name, _DECLARED.get(rt, [])
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for doc in declared:
        pairs = [(doc.event, _region_channel(service, doc))]
        if doc.department_copy:
            pairs.append((f"{doc.event}.department", _dept_channel(service, doc)))
        for key, channel in pairs:
            channels[key] = channel
            operations[f"publish.{key}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{key}"},
                "title": f"{service} publishes {channel['title']}",
                "summary": channel["summary"],
                "messages": [{"$ref": f"#/channels/{key}/messages/{doc.event}"}],
                "bindings": {"nats": {"bindingVersion": NATS_BINDING_VERSION}},
            }
        messages[doc.event] = {
            "name": doc.event,
            "title": doc.event,
            "summary": doc.summary,
            "contentType": CONTENT_TYPE,
            "headers": {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {
                        "type": "string",
                        "description": "JetStream's de-duplication id: the event id (a department copy: "
                        "the event id, `@`, its subject); a republish after a crash is dropped",
                    }
                },
            },
            "payload": {"$ref": f"#/components/schemas/{doc.model.__name__}"},
        }
    _, schemas = models_json_schema(
        [(d.model, "serialization") for d in declared], ref_template="#/components/schemas/{model}"
    )
    schemas = schemas.get("$defs", {})
    for name, schema in schemas.items():  # the models inside the events' data (a region, a visit…)
        for prop, value in schema.get("properties", {}).items():
            if not value.get("description") and (text := description_of(_DESCRIPTIONS.get(rt, {}), name, prop)):
                value["description"] = text
    as_on_the_bus(schemas)
    schemas = _reachable(schemas, [d.model.__name__ for d in declared])
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Yiwang {service} events",
            "version": "1",
            "description": _info(service, declared),
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


CELL_SCHEMA = {
    "type": "string",
    "description": "The ~1 km cell the place lies in (`<floor(lng/0.01)>:<floor(lat/0.01)>`), never the exact point",
}


def as_on_the_bus(schemas: dict[str, Any]) -> None:
    """The schemas as `bus_data` (shared/messaging/bus.py) lets the events out: the domain models
    list fields no event carries (a resident's sub, a name, exact coordinates), so the document
    drops them the same way, a point becoming its `cell` and a reference to a person losing its name."""
    person_defs: set[str] = set()
    for schema in schemas.values():
        props: dict[str, Any] = schema.get("properties", {})
        for prop in [p for p in props if p in PERSONAL_KEYS or p in POINT_KEYS]:
            if props.pop(prop) is not None and prop in POINT_KEYS:
                props["cell"] = dict(CELL_SCHEMA)
        for prop in PERSON_REFS & props.keys():
            person_defs |= {ref.rsplit("/", 1)[-1] for ref in _refs(props[prop])}
        if "required" in schema:
            schema["required"] = [r for r in schema["required"] if r in props]
    for name in person_defs:
        schema = schemas.get(name, {})
        schema.get("properties", {}).pop("name", None)
        if "required" in schema:
            schema["required"] = [r for r in schema["required"] if r != "name"]


def _reachable(schemas: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    """The schemas the messages reach (a model only a dropped field used, e.g. a point, goes)."""
    seen: set[str] = set()
    todo = [r for r in roots if r in schemas]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [r.rsplit("/", 1)[-1] for r in _refs(schemas[name]) if r.rsplit("/", 1)[-1] in schemas]
    return {k: v for k, v in schemas.items() if k in seen}


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return ([value["$ref"]] if isinstance(value.get("$ref"), str) else []) + [
            r for v in value.values() for r in _refs(v)
        ]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def _info(service: str, declared: list[EventDoc]) -> str:
    text = (
        f"Events of the {service} service, on JetStream stream YIWANG_{service.upper()}, as CloudEvents 1.0 "
        "envelopes (structured JSON). A subject is `yiwang.evt.<service>.<EVENT>.<region path>`: the region "
        f"path is the record's region ids from the city down, 1 to {MAX_DEPTH} tokens by where the record is, "
        "or `_` for a record outside the territory, so each channel's address ends in `>`. "
        f"`yiwang.evt.{service}.*.<city>.<county>.>` is every event below one county (add "
        f"`yiwang.evt.{service}.*.<city>.<county>` for those about the county itself). "
        "Requests between services are internal and not listed."
    )
    if keyed := [d.event for d in declared if d.key]:
        text += f" The subjects of {', '.join(keyed)} end in one key instead (see their channels)."
    if any(d.department_copy for d in declared):
        text += (
            f" An event about a record that departments handle is also published once for each of them on "
            f"`yiwang.dept.{service}.<department region>.<code>.<EVENT>`; a department user may be confined to its own."
        )
    return text
