"""Relay-style connections and the shared input rules (`first` ≤ 100)."""

from __future__ import annotations

import base64
import weakref
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from enum import Enum
from typing import Any, Generic, TypeVar, dataclass_transform, overload

import strawberry
from pydantic import BaseModel
from strawberry.relay import GlobalID
from strawberry.types import Info
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType
from strawberry.types.nodes import SelectedField

from gateway.clients import GridsClient, OrganizationsClient, VolunteersClient, checked
from gateway.context import Context
from shared.errors import BadInput

N = TypeVar("N")
T = TypeVar("T")
E = TypeVar("E", bound=Enum)

# A record's single read, by the type's own query and by node(id:), so both give one scope answer.
Reader = Callable[[Info, str], Awaitable[N | None]]


def reader(
    load: Callable[[Info, str], Awaitable[dict[str, Any] | None]], to_node: Callable[[dict[str, Any]], N]
) -> Reader[N]:
    """The single read of a record type: its DTO (None: not found to an unrestricted caller; a
    record outside the caller's scope raises the service's FORBIDDEN) as the type's node."""

    async def read(info: Info, id: str) -> N | None:
        dto = await load(info, str(id))
        return to_node(dto) if dto else None

    return read


M = TypeVar("M", bound=BaseModel)
PAGE_MAX = 100


def ctx(info: Info) -> Context:
    return info.context


def grids(info: Info) -> GridsClient:
    return ctx(info).grids


def orgs(info: Info) -> OrganizationsClient:
    return ctx(info).organizations


def vols(info: Info) -> VolunteersClient:
    return ctx(info).volunteers


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


def listing(model: type[M], fields: dict[str, Any], first: int | None, after: str | None) -> M:
    """The request of a list verb: its filters (None: unset) and the page (`first`, `after`), checked once
    against the verb's contract model."""
    return checked(model, **fields, page=page_args(first, after))


def command(model: type[M], id: Any, expected_version: int | None = None, **fields: Any) -> M:
    """The request of a command on one record (a `Versioned` model): its id, the version the caller saw
    (None: any) and the command's own fields, checked once against the verb's contract model."""
    return checked(model, id=str(id), expectedVersion=expected_version, **fields)


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


@strawberry.type
class Connection(Generic[N]):
    """One page of a list; `Connection[PartyMember]` is named PartyMemberConnection in the schema."""

    edges: list[Edge[N]]
    page_info: PageInfo
    total_count: int


def connection(page: dict, to_node: Callable[[dict], N]) -> Connection[N]:
    """A service's page reply ({items, totalCount, hasNextPage}) as a connection of `to_node(item)`."""
    return Connection(**connection_fields(page, to_node))


def connection_fields(page: dict, to_node: Callable[[dict], N]) -> dict[str, Any]:
    items = page["items"]
    edges = [Edge(cursor=encode_cursor(i["id"]), node=to_node(i)) for i in items]
    return {
        "edges": edges,
        "total_count": page["totalCount"],
        "page_info": PageInfo(
            has_next_page=page["hasNextPage"],
            has_previous_page=False,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    }


def selects(info: Info, name: str) -> bool:
    """Whether the field being resolved selects `name` directly (a fragment counts as yes):
    lets a list skip counting its total when nobody asked for it."""
    return any(
        not isinstance(sel, SelectedField) or sel.name == name
        for field in info.selected_fields
        for sel in field.selections
    )


def drop_none(d: dict) -> dict:
    """A payload without its unset (None) fields: the service applies its defaults to those."""
    return {k: v for k, v in d.items() if v is not None}


def graphql_enum(
    term: type[E], name: str | None = None, description: str | None = None, values: dict[str, str] | None = None
) -> type[E]:
    """The GraphQL enum of a vocabulary term (shared.vocabulary): the same class the domain and the
    contracts use, so a value added to the term appears everywhere at once. `values` describes members."""
    strawberry.enum(term, name=name, description=description)
    described = dict(values or {})
    # strawberry.enum sets __strawberry_definition__ on the class at run time; its types do not declare it
    for value in term.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = described.pop(value.name, None)
    if described:
        raise ValueError(f"{term.__name__} has no member {sorted(described)}")
    return term


_CAMEL: dict[str, str] = {}
_DTO_READERS: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()  # the resolvers `from_dto` made


def camel(name: str) -> str:
    """snake_case to the camelCase of DTO keys (and GraphQL field names)."""
    key = _CAMEL.get(name)
    if key is None:
        head, *rest = name.split("_")
        key = _CAMEL[name] = head + "".join(w[:1].upper() + w[1:] for w in rest)
    return key


def from_dto(
    key: str | None = None,
    *,
    convert: Callable[[Any], Any] | None = None,
    default: Any = None,
    description: str | None = None,
    deprecation_reason: str | None = None,
) -> Any:
    """A field read from the record's DTO (`self.dto`): the DTO key is the field's name in camelCase
    unless `key` names it; `convert` turns a present value into the field's type (`day`, `when`, an enum),
    and an absent or null value is `default`. The type is the annotation on the class:
    `term_end: date | None = from_dto(convert=day, description="Null while the term is open")`."""

    def resolve(root: Any, info: Info) -> Any:
        value = root.dto.get(key or camel(info.python_name))
        if value is None:
            return default
        return convert(value) if convert is not None else value

    _DTO_READERS.add(resolve)
    return strawberry.field(resolver=resolve, description=description, deprecation_reason=deprecation_reason)


@overload
def when(value: None) -> None: ...


@overload
def when(value: str | datetime) -> datetime: ...


def when(value: str | datetime | None) -> datetime | None:
    """Datetimes travel as ISO 8601 text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


@overload
def day(value: None) -> None: ...


@overload
def day(value: str | date) -> date: ...


def day(value: str | date | None) -> date | None:
    """Dates travel as YYYY-MM-DD."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def value_of(term: Any) -> Any:
    """An enum argument's wire value; None stays None."""
    return term.value if term is not None else None


def _reads_dto(value: Any) -> bool:
    resolver = getattr(value, "base_resolver", None)
    return resolver is not None and resolver.wrapped_func in _DTO_READERS


@overload
def dto_type(cls: T, /) -> T: ...


@overload
def dto_type(cls: None = None, /, **options: Any) -> Callable[[T], T]: ...


# As strawberry.type declares itself, so that type checkers see the dataclass `__init__` (`Region(dto=...)`);
# `from_dto` is no field specifier: its fields are resolvers, never constructor arguments.
@dataclass_transform(order_default=False, kw_only_default=True, field_specifiers=(strawberry.field, StrawberryField))
def dto_type(cls: Any = None, /, **options: Any) -> Any:
    """`strawberry.type` for a type filled from a service DTO (`dto: strawberry.Private[dict]`, fields
    declared with `from_dto`). Fields keep the order they are written in: Strawberry puts annotated
    fields before resolver methods, so the methods are annotated in place here."""

    def wrap(cls: Any) -> Any:
        own = dict(cls.__dict__.get("__annotations__", {}))
        first = {name: kind for name, kind in own.items() if not _reads_dto(cls.__dict__.get(name))}
        rest: dict[str, Any] = {}
        for name, value in cls.__dict__.items():
            if _reads_dto(value):
                rest[name] = own[name]
            elif isinstance(value, StrawberryField) and value.base_resolver is not None and name not in own:
                annotation = value.base_resolver.type_annotation
                rest[name] = annotation.annotation if annotation is not None else Any
        cls.__annotations__ = {**first, **rest}
        return strawberry.type(cls, **options)

    return wrap(cls) if cls is not None else wrap


@strawberry.interface(
    description="A record with a global id (Relay global object identification): `node(id:)` reads it back "
    "with the same scope as the record's own query. `nodeId` is the global id; `id` stays the record's own id"
)
class Node:
    @strawberry.field(description="The global id, for node(id:) and nodes(ids:)")
    def node_id(self) -> strawberry.ID:
        # strawberry.type sets __strawberry_definition__ (the GraphQL type name) at run time, undeclared in its
        # types; `dto` is each implementing record's own field
        return global_id(self.__strawberry_definition__.name, getattr(self, "dto")["id"])  # type: ignore[attr-defined]  # noqa: B009


def global_id(type_name: str, record_id: str) -> strawberry.ID:
    """The Relay global id of a record: its GraphQL type name and its own id, base64 (Strawberry's GlobalID)."""
    return strawberry.ID(str(GlobalID(type_name, str(record_id))))


def parse_global_id(value: str) -> tuple[str, str]:
    """(type name, record id) of a global id; BadInput for anything this API did not make."""
    try:
        gid = GlobalID.from_id(value)
    except Exception:  # GlobalIDValueError, or text that is not base64 at all
        raise BadInput("`id` is not a global id this API returned (a record's `nodeId`)") from None
    return gid.type_name, gid.node_id


class LazyRecord:
    """A record type of a module that imports this one (strawberry.lazy's LazyType), built from a DTO on
    first use: for an edge that closes a cycle of the type graph."""

    def __init__(self, type_name: str, module: str) -> None:
        self._lazy: LazyType[Any, Any] = LazyType(type_name, module)
        self._cls: type | None = None

    def of(self, dto: dict) -> Any:
        if self._cls is None:
            self._cls = self._lazy.resolve_type()
        return self._cls(dto=dto)
