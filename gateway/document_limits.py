"""A budget per GraphQL document and caps on every argument value, checked before validation.

Validation is the expensive step an attacker reaches first: graphql-core's overlapping-fields
rule compares the fields that share a response name pairwise, and their sub-selections again,
so `{ me { sub } me { sub } … }` (990 repeats, 11 KB) cost ~0.8–1.6 CPU-s. The depth and alias
limits are validation rules themselves and run alongside it, too late. So before validation
(`DocumentLimits.on_validate`):

- the document may select at most `YIWANG_GRAPHQL_MAX_FIELDS` fields, counted with every fragment
  spread expanded (a fragment used ten times counts ten times);
- one response name may be selected at most `YIWANG_GRAPHQL_MAX_REPEATS` times among the fields
  validation compares together (a selection set with its fragments inlined, the sub-selections
  of same-named fields pooled): the pairs it compares stay under repeats × fields. Within the
  field budget alone, 10 `region`s of 10 `parent`s of 3 `id`s still cost ~130 ms to validate;
  the worst a document within both limits was found to cost is ~30 ms (the introspection
  query: ~10 ms);
- every list argument may hold at most `YIWANG_GRAPHQL_MAX_LIST_ITEMS` items and every string
  argument at most `YIWANG_GRAPHQL_MAX_STRING_LENGTH` characters, in literals and in variables
  alike, walked along the schema's input types; a `JSON` argument is held to the bounds the
  services apply to payloads (`YIWANG_RPC_MAX_ITEMS`, `YIWANG_JSON_MAX_DEPTH`).

A field whose values need another bound says so in its metadata:
`strawberry.field(metadata={"max_items": 1000})` (or `"max_length"` for strings), on an input
field or an argument. Anything over a cap is answered `BAD_USER_INPUT` naming where.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_named_type,
    parse,
    type_from_ast,
)
from strawberry.extensions import SchemaExtension

from shared.limits import Bounds, first_excess
from shared.settings import Settings

BACKREF = "strawberry-definition"


class Caps:
    def __init__(self, settings: Settings):
        self.max_fields = settings.graphql_max_fields
        self.max_repeats = settings.graphql_max_repeats
        self.max_string = settings.graphql_max_string_length
        self.max_items = settings.graphql_max_list_items
        self.json = Bounds(settings.json_max_depth, settings.graphql_max_string_length, settings.rpc_max_items)

    def of(self, definition: Any) -> tuple[int, int]:
        """(max characters, max items) for the values of an argument or input field."""
        metadata = getattr((getattr(definition, "extensions", None) or {}).get(BACKREF), "metadata", None) or {}
        return int(metadata.get("max_length", self.max_string)), int(metadata.get("max_items", self.max_items))


def _unwrap(t: Any) -> Any:
    return t.of_type if isinstance(t, GraphQLNonNull) else t


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def literal_problem(node: Any, type_: Any, limits: tuple[int, int], caps: Caps, path: tuple[str, ...]) -> str | None:
    """The first value in an argument literal over its cap (variables are checked apart)."""
    stack = [(node, type_, limits, path)]
    while stack:
        node, t, (max_string, max_items), at = stack.pop()
        t = _unwrap(t)
        if isinstance(node, VariableNode):
            continue
        if isinstance(node, StringValueNode):
            if len(node.value) > max_string:
                return f"{_dotted(at)}: a string of {len(node.value)} characters, more than {max_string}"
        elif isinstance(node, ListValueNode):
            scalar = t is not None and not isinstance(t, GraphQLList | GraphQLInputObjectType)  # JSON, say
            limit = caps.json.max_items if scalar else max_items
            if len(node.values) > limit:
                return f"{_dotted(at)}: {len(node.values)} items, more than {limit}"
            item_type = t.of_type if isinstance(t, GraphQLList) else t
            stack.extend((v, item_type, (max_string, max_items), (*at, str(i))) for i, v in enumerate(node.values))
        elif isinstance(node, ObjectValueNode):
            if isinstance(t, GraphQLInputObjectType):
                if len(node.fields) > len(t.fields):
                    return f"{_dotted(at)}: {len(node.fields)} members, more than {t.name} has fields"
                for f in node.fields:
                    definition = t.fields.get(f.name.value)
                    limits = caps.of(definition) if definition is not None else (max_string, max_items)
                    stack.append(
                        (f.value, definition.type if definition is not None else None, limits, (*at, f.name.value))
                    )
            else:  # a JSON object (or a shape validation refuses)
                if len(node.fields) > caps.json.max_items:
                    return f"{_dotted(at)}: {len(node.fields)} members, more than {caps.json.max_items}"
                stack.extend((f.value, t, (max_string, max_items), (*at, f.name.value)) for f in node.fields)
    return None


def value_problem(value: Any, type_: Any, limits: tuple[int, int], caps: Caps, path: tuple[str, ...]) -> str | None:
    """The first place in a variable's value over its cap, walked along its declared type."""
    stack = [(value, type_, limits, path)]
    while stack:
        value, t, (max_string, max_items), at = stack.pop()
        t = _unwrap(t)
        if isinstance(value, str):
            if len(value) > max_string:
                return f"{_dotted(at)}: a string of {len(value)} characters, more than {max_string}"
        elif isinstance(t, GraphQLList):
            items = value if isinstance(value, list) else [value]
            if len(items) > max_items:
                return f"{_dotted(at)}: {len(items)} items, more than {max_items}"
            stack.extend((v, t.of_type, (max_string, max_items), (*at, str(i))) for i, v in enumerate(items))
        elif isinstance(t, GraphQLInputObjectType) and isinstance(value, dict):
            if len(value) > len(t.fields):
                return f"{_dotted(at)}: {len(value)} members, more than {t.name} has fields"
            for name, v in value.items():
                if (definition := t.fields.get(name)) is not None:
                    stack.append((v, definition.type, caps.of(definition), (*at, name)))
        elif isinstance(value, list | dict):  # a JSON scalar, or a shape the type refuses anyway
            bounds = Bounds(caps.json.max_depth, max_string, caps.json.max_items)
            if problem := first_excess(value, bounds, at):
                return problem
    return None


@dataclass
class Definition:
    """What one operation or fragment selects, its spreads not expanded."""

    fields: int = 0
    spreads: list[str] = field(default_factory=list)


def _definition(
    root: SelectionSetNode, root_type: Any, schema: GraphQLSchema, caps: Caps
) -> tuple[Definition, str | None]:
    """Walk one definition: count its fields, note its spreads, and check every argument
    literal against its cap."""
    out = Definition()
    sets = [(root, root_type)]
    while sets:
        selection_set, parent_type = sets.pop()
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                out.fields += 1
                field_defs = getattr(parent_type, "fields", None) or {}
                definition = field_defs.get(sel.name.value)
                for arg in sel.arguments or ():
                    arg_def = definition.args.get(arg.name.value) if definition is not None else None
                    limits = caps.of(arg_def) if arg_def is not None else (caps.max_string, caps.max_items)
                    problem = literal_problem(
                        arg.value,
                        arg_def.type if arg_def is not None else None,
                        limits,
                        caps,
                        (f"{sel.name.value}({arg.name.value})",),
                    )
                    if problem:
                        return out, f"argument {problem}"
                if sel.selection_set is not None:
                    child_type = get_named_type(definition.type) if definition is not None else None
                    sets.append((sel.selection_set, child_type))
            elif isinstance(sel, InlineFragmentNode):
                condition = schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent_type
                sets.append((sel.selection_set, condition))
            elif isinstance(sel, FragmentSpreadNode):
                out.spreads.append(sel.name.value)
    return out, None


def _spread_order(spreads: dict[str, list[str]]) -> list[str]:
    """Definitions ordered so each comes after the fragments it spreads (a cycle, which
    validation refuses, is broken where it closes). Iterative: a long chain costs no recursion."""
    order: list[str] = []
    seen: set[str] = set()
    for root in spreads:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(spreads[root]))]
        while stack:
            key, children = stack[-1]
            for child in children:
                if child in spreads and child not in seen:
                    seen.add(child)
                    stack.append((child, iter(spreads[child])))
                    break
            else:
                stack.pop()
                order.append(key)
    return order


def document_problem(schema: GraphQLSchema, document: DocumentNode, caps: Caps) -> str | None:
    """An argument literal over its cap, the field budget exceeded, or too many fields that
    validation would compare with one another (None: within bounds)."""
    definitions: dict[str, Definition] = {}
    operations: list[str] = []
    root: GraphQLNamedType | None
    for i, node in enumerate(document.definitions):
        if isinstance(node, OperationDefinitionNode):
            key, root = f"#{i}", schema.get_root_type(node.operation)
            operations.append(key)
        elif isinstance(node, FragmentDefinitionNode):
            key, root = node.name.value, schema.get_type(node.type_condition.name.value)
            if key in definitions:
                continue  # a duplicate name; validation refuses it
        else:
            continue
        definitions[key], problem = _definition(node.selection_set, root, schema, caps)
        if problem:
            return problem

    order = _spread_order({k: d.spreads for k, d in definitions.items()})
    over = caps.max_fields + 1
    cost: dict[str, int] = {}  # fields with spreads expanded (capped just over the budget)
    for key in order:
        d = definitions[key]
        cost[key] = min(over, d.fields + sum(cost.get(c, 0) for c in d.spreads))
    total = sum(cost[k] for k in operations) + sum(d.fields for k, d in definitions.items() if k not in operations)
    if total > caps.max_fields:
        return (
            f"the document selects more than {caps.max_fields} fields (fragments counted each time they "
            f"are spread); split it into smaller operations"
        )
    return _merge_problem(document, caps)


def _merge_problem(document: DocumentNode, caps: Caps) -> str | None:
    """Fields that validation would compare with one another, too many of them.

    Validation checks that fields selected under one response name can be merged, comparing
    them pairwise, and the sub-selections of each pair again: the fields compared together
    are those sharing a response name in one selection set, with fragments and inline
    fragments inlined, and with the sub-selections of same-named fields pooled. This walks
    those pools (each field of the expanded document is in exactly one) and refuses a
    response name selected more than `max_repeats` times in one, so the pairs validation
    compares stay under `max_repeats` × the fields. Run once the field budget holds, the walk
    visits at most about that many fields."""
    fragments: dict[str, Any] = {}
    for node in document.definitions:
        if isinstance(node, FragmentDefinitionNode):
            fragments.setdefault(node.name.value, node)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    used = {name for d in operations for name in _spreads_within(d.selection_set, fragments)}
    roots: list[list[tuple[SelectionSetNode, frozenset[str]]]] = [[(d.selection_set, frozenset())] for d in operations]
    roots += [[(f.selection_set, frozenset({name}))] for name, f in fragments.items() if name not in used]
    visits = 2 * caps.max_fields + 100
    pools = roots
    while pools:
        pool = pools.pop()
        by_name: dict[str, list[tuple[FieldNode, frozenset[str]]]] = {}
        todo = list(pool)
        while todo:
            selection_set, path = todo.pop()
            for sel in selection_set.selections:
                if isinstance(sel, FieldNode):
                    visits -= 1
                    if visits < 0:
                        return "the document's fragments spread one another too often to check; split it"
                    by_name.setdefault((sel.alias or sel.name).value, []).append((sel, path))
                elif isinstance(sel, InlineFragmentNode):
                    todo.append((sel.selection_set, path))
                elif isinstance(sel, FragmentSpreadNode):
                    name = sel.name.value
                    if name in fragments and name not in path:  # a cycle is validation's to refuse
                        todo.append((fragments[name].selection_set, path | {name}))
        for name, fields in by_name.items():
            if len(fields) > caps.max_repeats:
                return (
                    f"`{name}` is selected {len(fields)} times in one selection set (fragments and the "
                    f"selections of same-named fields counted together); at most {caps.max_repeats} are allowed"
                )
            children = [(f.selection_set, path) for f, path in fields if f.selection_set is not None]
            if children:
                pools.append(children)
    return None


def _spreads_within(selection_set: SelectionSetNode, fragments: dict[str, Any]) -> set[str]:
    """The fragments an operation reaches, directly or through other fragments."""
    found: set[str] = set()
    todo = [selection_set]
    while todo:
        node = todo.pop()
        for sel in node.selections:
            if isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                if name not in found and name in fragments:
                    found.add(name)
                    todo.append(fragments[name].selection_set)
            elif isinstance(sel, (FieldNode, InlineFragmentNode)) and sel.selection_set is not None:
                todo.append(sel.selection_set)
    return found


def variables_problem(
    schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None, caps: Caps
) -> str | None:
    if not variables:
        return None
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for var in definition.variable_definitions or ():
            name = var.variable.name.value
            if name not in variables:
                continue
            try:
                t = type_from_ast(schema, var.type)
            except Exception:  # noqa: BLE001 - an unknown type: validation refuses it
                t = None
            problem = value_problem(variables[name], t, (caps.max_string, caps.max_items), caps, (f"${name}",))
            if problem:
                return f"variable {problem}"
    return None


@dataclass
class Cached:
    document: DocumentNode
    problem: object = ...  # DocumentLimits' finding: None or a message (... until checked)
    errors: list | None = None  # validation's


class DocumentCache:
    """Parsed documents by query text, with what was found about them, in a bounded amount of
    text. A syntax tree takes ~165 bytes per character of its text (locations and tokens), so
    Strawberry's ParserCache of 1,024 documents let one principal park ~1.8 GB in the gateway
    with unique 11 KB documents. Here the texts together stay under `max_chars` and a text over
    1/32 of it is not kept at all (parsed each time; it costs ~30 ms at the token limit)."""

    def __init__(self, max_chars: int):
        self.max_chars, self.max_entry = max_chars, max_chars // 32
        self.entries: OrderedDict[str, Cached] = OrderedDict()
        self.chars = 0

    def get(self, query: str) -> Cached | None:
        entry = self.entries.get(query)
        if entry is not None:
            self.entries.move_to_end(query)
        return entry

    def put(self, query: str, document: DocumentNode) -> None:
        if len(query) > self.max_entry or query in self.entries:
            return
        self.entries[query] = Cached(document)
        self.chars += len(query)
        while self.chars > self.max_chars:
            old, _ = self.entries.popitem(last=False)
            self.chars -= len(old)

    def of(self, query: str | None, document: DocumentNode | None) -> Cached | None:
        """The entry of this very document (not of another parse of the same text)."""
        entry = self.entries.get(query) if query is not None else None
        return entry if entry is not None and entry.document is document else None


class ParsedOnce(SchemaExtension):
    """Parsing through the schema's DocumentCache (subclassed per schema with it)."""

    documents: DocumentCache

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.query is not None and ctx.graphql_document is None:
            entry = self.documents.get(ctx.query)
            if entry is None:
                document = parse(ctx.query, **ctx.parse_options)  # a syntax error propagates as usual
                self.documents.put(ctx.query, document)
            else:
                document = entry.document
            ctx.graphql_document = document
        yield


class DocumentLimits(SchemaExtension):
    """Refuses a document over the field budget or an argument over its cap, before validation.
    Subclassed per schema with its settings and its DocumentCache (`build_schema`)."""

    caps: Caps
    documents: DocumentCache

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and ctx.pre_execution_errors is None:
            schema = ctx.schema._schema
            entry = self.documents.of(ctx.query, document)
            if entry is None:
                problem = document_problem(schema, document, self.caps)
            else:
                if entry.problem is ...:
                    entry.problem = document_problem(schema, document, self.caps)
                problem = entry.problem if isinstance(entry.problem, str) else None  # None: within bounds
            problem = problem or variables_problem(schema, document, ctx.variables, self.caps)
            if problem:
                ctx.pre_execution_errors = [GraphQLError(problem, extensions={"code": "BAD_USER_INPUT"})]
        yield
