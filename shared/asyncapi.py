"""Event documentation for departments that subscribe to a service's stream directly.

Each event type is declared on the service's broker as a FastStream publisher whose schema
is the full CloudEvents envelope; FastStream's AsyncAPI export turns that into an AsyncAPI
3.0 document. The relay publishes the events themselves; these publishers only document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from faststream.specification import AsyncAPI
from pydantic import BaseModel, Field, create_model

from shared.messaging.envelope import CloudEvent
from shared.service import ServiceRuntime

PATH_TOKENS = "{city}.{county}.{township}.{community}.{grid}"


def envelope_model(
    service: str,
    event: str,
    data: type[BaseModel],
    drop: tuple[str, ...] = (),
    delta: bool = True,
    dept_keys: bool = False,
) -> type[BaseModel]:
    fields: dict[str, Any] = {n: (f.annotation, f) for n, f in data.model_fields.items() if n not in drop}
    if dept_keys:
        fields["deptKeys"] = (
            list[str],
            Field(default_factory=list, description="The departments on the record (`<region>:<code>`)"),
        )
    if delta:
        fields["delta"] = (
            dict[str, int],
            Field(
                default_factory=dict,
                description=("Change of the region counters this event caused (first event of a command)"),
            ),
        )
    name = service.title() + "".join(w.title() for w in event.split("_")) + ("DepartmentCopy" if dept_keys else "")
    # `type` is the one value `event`: a Literal made at run time (a type checker sees an expression)
    event_type: Any = Literal[event]
    payload = create_model(
        f"{name}Data", __doc__=data.__doc__, __config__=data.model_config, type=(event_type, event), **fields
    )
    return create_model(
        f"{name}Event",
        __base__=CloudEvent,
        __doc__=(
            f"CloudEvents 1.0 (structured JSON) envelope; `type` = yiwang.{service}.{event}.v1, "
            "`subject` = the aggregate id, `regionpath` = the region path, dot-joined"
        ),
        data=(payload, ...),
    )


def document_events(
    rt: ServiceRuntime, events: Mapping[str, type[BaseModel]], drop: tuple[str, ...] = (), delta: bool = True
) -> None:
    for name, model in events.items():
        rt.broker.publisher(
            f"yiwang.evt.{rt.name}.{name}.{PATH_TOKENS}",
            schema=envelope_model(rt.name, name, model, drop, delta),
            title=f"{rt.name}.{name}",
            description=(model.__doc__ or "").strip().split("\n")[0],
        )

    async def asyncapi(_req) -> dict:
        return spec(rt)

    rt.route("asyncapi", asyncapi)


def document_department_copies(
    rt: ServiceRuntime, events: Mapping[str, type[BaseModel]], drop: tuple[str, ...] = ()
) -> None:
    """The copies of each event for the departments a record names (`data.deptKeys`), on a subject
    space of each department's own, which a department's NATS user can be confined to."""
    for name, model in events.items():
        rt.broker.publisher(
            f"yiwang.dept.{rt.name}.{{deptRegion}}.{{deptCode}}.{name}",
            schema=envelope_model(rt.name, name, model, drop, dept_keys=True),
            title=f"{rt.name}.{name}.department",
            description="The same event, for each department on the record: "
            + (model.__doc__ or "").strip().split("\n")[0],
        )


def spec(rt: ServiceRuntime) -> dict:
    doc = AsyncAPI(
        rt.broker,
        title=f"Yiwang {rt.name} events",
        version="1",
        description=(
            f"Events of the {rt.name} service on JetStream stream YIWANG_{rt.name.upper()}. "
            f"Subjects end with the region path, so `yiwang.evt.{rt.name}.*.<city>.<county>.>` "
            "is one county's subtree. An event about a record that departments handle is also "
            f"published, once for each of them, on `yiwang.dept.{rt.name}.<department region>.<code>.<EVENT>`: "
            "a department user may be confined to its own. Request subjects are internal and not listed."
        ),
        schema_version="3.0.0",
    )
    full = doc.to_specification().to_jsonable()
    # Keep only this service's own events: its requests and what it consumes are documented elsewhere.
    ops = {k: v for k, v in full.get("operations", {}).items() if v.get("action") == "send"}
    keep = {v["channel"]["$ref"].split("/")[-1] for v in ops.values()}
    full["operations"] = ops
    full["channels"] = {k: v for k, v in full.get("channels", {}).items() if k in keep}
    return full
