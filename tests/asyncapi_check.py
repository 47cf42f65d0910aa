"""Compare what is really on the bus with a service's AsyncAPI document: each message's subject
matches exactly one channel, and its envelope and `data` have the documented fields (none
undocumented, every required one present)."""

from __future__ import annotations

import json
from typing import Any

from shared.asyncapi import address_pattern


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def mismatches(doc: dict[str, Any], subject: str, body: bytes) -> list[str]:
    """What in one message the document does not say (empty: the message is as documented)."""
    hits = [c for c in doc["channels"].values() if address_pattern(c["address"]).fullmatch(subject)]
    if len(hits) != 1:
        return [f"{subject}: matches {len(hits)} channels"]
    message = doc["components"]["messages"][next(iter(hits[0]["messages"]))]
    envelope_schema = resolve(doc, message["payload"])
    data_schema = resolve(doc, envelope_schema["properties"]["data"])
    envelope = json.loads(body)
    problems = []
    if envelope.get("type") != envelope_schema["properties"]["type"].get("const"):
        problems.append(f"{subject}: type {envelope.get('type')}")
    for schema, value, where in ((envelope_schema, envelope, "envelope"), (data_schema, envelope["data"], "data")):
        if undocumented := set(value) - set(schema["properties"]):
            if schema.get("additionalProperties") is not True:
                problems.append(f"{subject}: {where} fields not documented: {sorted(undocumented)}")
        if missing := set(schema.get("required", [])) - set(value):
            problems.append(f"{subject}: documented {where} fields missing: {sorted(missing)}")
    return problems
