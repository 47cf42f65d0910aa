"""Relay-style connections and the shared input rules (`first` ≤ 100)."""
from __future__ import annotations

import base64
from collections.abc import Callable
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from gateway.context import Context
from shared.errors import BadInput

N = TypeVar("N")
E = TypeVar("E", bound=Enum)
PAGE_MAX = 100


def ctx(info: Info) -> Context:
    return info.context


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise BadInput("`after` is not a cursor this API returned") from None


def page_args(first: int | None, after: str | None) -> dict[str, Any]:
    n = 20 if first is None else first
    if n < 0 or n > PAGE_MAX:
        raise BadInput(f"`first` must be between 0 and {PAGE_MAX}")
    return {"first": n, "after": decode_cursor(after)}


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


def connection_fields(page: dict, to_node: Callable[[dict], N]) -> dict[str, Any]:
    items = page["items"]
    edges = [Edge(cursor=encode_cursor(i["id"]), node=to_node(i)) for i in items]
    return {"edges": edges, "total_count": page["totalCount"], "page_info": PageInfo(
        has_next_page=page["hasNextPage"], has_previous_page=False,
        start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None)}


def selects(info: Info, name: str) -> bool:
    """Whether the field being resolved selects `name` directly (a fragment counts as yes):
    lets a list skip counting its total when nobody asked for it."""
    return any(not isinstance(sel, SelectedField) or sel.name == name
               for field in info.selected_fields for sel in field.selections)


def drop_none(d: dict) -> dict:
    """A payload without its unset (None) fields: the service applies its defaults to those."""
    return {k: v for k, v in d.items() if v is not None}


def graphql_enum(term: type[E], name: str | None = None, description: str | None = None,
                 values: dict[str, str] | None = None) -> type[E]:
    """The GraphQL enum of a vocabulary term (shared.vocabulary): the same class the domain and the
    contracts use, so a value added to the term appears everywhere at once. `values` describes members."""
    strawberry.enum(term, name=name, description=description)
    described = dict(values or {})
    for value in term.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = described.pop(value.name, None)
    if described:
        raise ValueError(f"{term.__name__} has no member {sorted(described)}")
    return term
