"""The bounds on one request, without I/O: the JSON walk, the rate limiter, the document budget
and the argument caps against the real schema, and the contracts' list bounds."""
from __future__ import annotations

import json
import typing

import annotated_types
import pytest
from graphql import parse

import shared.contracts.cases
import shared.contracts.grids
import shared.contracts.organizations
import shared.contracts.volunteers  # noqa: F401 - every contract module, for Wire.__subclasses__
from gateway.document_limits import Caps, document_problem, variables_problem
from gateway.limits import RateLimiter
from gateway.schema import build_schema
from shared.contracts.common import Wire
from shared.contracts.grids import GRID_EVENTS
from shared.limits import Bounds, RejectedJson, first_excess, loads_bounded, shape_only
from shared.settings import Settings

SETTINGS = Settings(graphql_max_fields=50, graphql_max_repeats=1000, graphql_max_list_items=10,
                    graphql_max_string_length=20, rpc_max_items=30, json_max_depth=8)
SCHEMA = build_schema(SETTINGS)._schema
CAPS = Caps(SETTINGS)


def doc_problem(text: str, caps: Caps = CAPS) -> str | None:
    return document_problem(SCHEMA, parse(text), caps)


def vars_problem(text: str, variables: dict) -> str | None:
    return variables_problem(SCHEMA, parse(text), variables, CAPS)


# -- the JSON walk ------------------------------------------------------------------------------

def test_first_excess_names_the_place_and_the_bound():
    b = Bounds(max_depth=3, max_string=5, max_items=3)
    assert first_excess({"a": [1, 2, 3], "b": "abcde"}, b) is None
    assert first_excess({"a": [1, 2, 3, 4]}, b) == "a: 4 items, more than 3"
    assert first_excess({"a": {"b": "abcdef"}}, b) == "a.b: a string of 6 characters, more than 5"
    assert first_excess({"a": {"b": {"c": []}}}, b) == "a.b.c: nested deeper than 3 levels"
    assert first_excess({"a": 1, "b": 2, "c": 3, "d": 4}, b) == "the value: 4 members, more than 3"
    assert first_excess({"abcdef": 1}, b) == "the value: a member name is a string of 6 characters, more than 5"
    assert first_excess(["ok", "\ud800"], b) == "1: a lone UTF-16 surrogate is not text"
    assert first_excess("中文也是文字", Bounds(3, 10, 3)) is None  # characters, not bytes


def test_loads_bounded_refuses_depth_surrogates_and_constants_as_json_errors():
    assert loads_bounded(b'{"a": [1, {"b": "\\u4e2d"}]}', shape_only(8)) == {"a": [1, {"b": "中"}]}
    for body, reason in [(b"[" * 5000 + b"]" * 5000, "nested deeper than 8"),
                         (b"[" * 20 + b"]" * 20, "nested deeper than 8"),
                         (b'{"v": "\\ud800"}', "lone UTF-16 surrogate"),
                         (b'{"v": "\xed\xa0\x80"}', "lone UTF-16 surrogate"),  # the same, as raw bytes
                         (b'{"v": NaN}', "NaN is not a JSON number"),
                         (b'[Infinity]', "Infinity is not a JSON number")]:
        with pytest.raises(RejectedJson, match=reason) as e:
            loads_bounded(body, shape_only(8))
        assert isinstance(e.value, json.JSONDecodeError)  # every JSON reader's refusal path takes it
    with pytest.raises(json.JSONDecodeError):
        loads_bounded(b"{not json", shape_only(8))


# -- the rate limiter -----------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_a_burst_then_the_rate_and_says_when():
    clock = Clock()
    limiter = RateLimiter(rate_per_s=2, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("b") == 0  # another principal is not held up
    clock.now += 0.5
    assert limiter.take("a") == 0  # one refilled
    assert limiter.take("a") > 0


def test_rate_limiter_forgets_idle_keys_and_stays_bounded():
    clock = Clock()
    limiter = RateLimiter(rate_per_s=10, burst=5, max_keys=100, clock=clock)
    for i in range(1000):
        limiter.take(f"k{i}")
    assert len(limiter.buckets) <= 100
    clock.now += 1  # every bucket is full again: nothing to remember
    limiter.take("x")
    assert list(limiter.buckets) == ["x"]


def test_a_large_request_is_charged_more_and_its_debt_is_remembered():
    clock = Clock()
    limiter = RateLimiter(rate_per_s=1, burst=5, clock=clock)
    assert limiter.take("big") == 0
    limiter.charge("big", 10)  # 4 left, minus 10
    assert limiter.take("big") == pytest.approx(7)  # from -6 to 1
    for _ in range(100):  # other keys come and go; the one in debt is not forgotten early
        limiter.take(f"k{_}")
    clock.now += 6.9
    assert limiter.take("big") > 0
    clock.now += 0.2
    assert limiter.take("big") == 0


def test_rate_limiter_off_at_zero():
    limiter = RateLimiter(rate_per_s=0, burst=1)
    assert not limiter.enabled
    assert all(limiter.take("a") == 0 for _ in range(1000))


# -- the document budget ----------------------------------------------------------------------------

def test_field_budget_counts_every_field_before_validation():
    assert doc_problem("{ " + "me { sub } " * 25 + "}") is None  # 50 fields
    assert "more than 50 fields" in doc_problem("{ " + "me { sub } " * 26 + "}")
    # the issue's document: 1,980 fields
    assert "more than 50 fields" in doc_problem("{ " + "me { sub } " * 990 + "}")


def test_field_budget_expands_fragments_each_time_they_are_spread():
    fragment = "fragment F on Query { " + "me { sub } " * 5 + "}"  # 10 fields
    assert doc_problem("{ ...F ...F ...F ...F }" + fragment) is None  # 40 + the fragment itself 10
    assert doc_problem("{ ...F ...F ...F ...F ...F }" + fragment)  # 50 + 10
    nested = "fragment G on Query { ...F ...F ...F } fragment H on Query { ...G ...G ...G }"
    assert "more than 50 fields" in doc_problem("{ ...H }" + nested + fragment)
    # inline fragments and several operations count too
    assert doc_problem("{ ... on Query { " + "me { sub } " * 26 + "} }")
    assert doc_problem("query A { " + "me { sub } " * 13 + "} query B { " + "me { sub } " * 13 + "}")


def test_field_budget_survives_documents_validation_refuses():
    # cycles, unknown fragments and unknown fields are validation's to refuse; they cost nothing here
    assert doc_problem("{ ...A } fragment A on Query { ...B me { sub } } fragment B on Query { ...A }") is None
    assert doc_problem("{ ...Missing nothing { here } }") is None
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30))
    assert "more than 50 fields" in doc_problem("{ ...F0 }" + chain + " fragment F30 on Query { me { sub } }")


REPEATS = Caps(Settings(graphql_max_fields=500, graphql_max_repeats=3))


def test_fields_validation_compares_pairwise_are_bounded():
    """Validation compares same-named fields pairwise (quadratic); their sub-selections pooled."""
    assert doc_problem("{ me { sub } me { sub } me { sub } }", REPEATS) is None
    assert doc_problem("{ me { sub } me { sub } me { sub } me { sub } }", REPEATS) == \
        "`me` is selected 4 times in one selection set (fragments and the selections of same-named fields " \
        "counted together); at most 3 are allowed"
    # through fragments and inline fragments
    assert "`me` is selected 4 times" in doc_problem(
        "{ me { sub } ...F ... on Query { me { sub } } } fragment F on Query { me { sub } me { sub } }", REPEATS)
    # pooled: two `region`s of two `parent`s each make four `parent`s compared together
    nested = '{ region(id: "a") { parent { id } parent { id } } region(id: "b") { parent { id } parent { id } } }'
    assert "`parent` is selected 4 times" in doc_problem(nested, REPEATS)
    # aliases are different response names: not compared with one another
    assert doc_problem("{ a: me { sub } b: me { sub } c: me { sub } d: me { sub } }", REPEATS) is None
    # fragments nobody uses are validated too
    assert "`me` is selected" in doc_problem("{ __typename } fragment X on Query { ...Y ...Y } "
                                               "fragment Y on Query { me { sub } me { sub } }", REPEATS)


# -- argument caps -------------------------------------------------------------------------------------

LIST = "query($s: [CaseStatus!]) { cases(filter: {statuses: $s}) { totalCount } }"


def test_list_arguments_are_capped_in_variables_and_literals():
    assert vars_problem(LIST, {"s": ["REPORTED"] * 10}) is None
    assert vars_problem(LIST, {"s": ["REPORTED"] * 20_000}) == "variable $s: 20000 items, more than 10"
    q = "query($f: CaseFilter) { cases(filter: $f) { totalCount } }"
    assert vars_problem(q, {"f": {"statuses": ["REPORTED"] * 11}}) == "variable $f.statuses: 11 items, more than 10"
    literal = "{ cases(filter: {statuses: [" + "REPORTED " * 11 + "]}) { totalCount } }"
    assert doc_problem(literal) == "argument cases(filter).statuses: 11 items, more than 10"


def test_string_arguments_are_capped_in_variables_and_literals():
    q = "query($v: ID!) { pointsBalance(volunteerId: $v) }"
    assert vars_problem(q, {"v": "x" * 20}) is None
    assert vars_problem(q, {"v": "x" * 21}) == "variable $v: a string of 21 characters, more than 20"
    assert doc_problem('{ pointsBalance(volunteerId: "' + "x" * 21 + '") }') == \
        "argument pointsBalance(volunteerId): a string of 21 characters, more than 20"
    # nested in an input object, and where the type is not a string at all
    report = "mutation($i: ReportCaseInput!) { reportCase(input: $i) { id } }"
    assert vars_problem(report, {"i": {"title": "y" * 21}}) == \
        "variable $i.title: a string of 21 characters, more than 20"
    assert vars_problem(report, {"i": {"lng": "1" * 21}})  # a huge string for a Float: refused here too
    assert vars_problem("query($f: Int) { cases(first: $f) { totalCount } }", {"f": "9" * 100})


def test_input_objects_cannot_carry_more_members_than_their_type_has():
    q = "query($f: CaseFilter) { cases(filter: $f) { totalCount } }"
    assert "more than CaseFilter has fields" in vars_problem(q, {"f": {f"k{i}": 1 for i in range(100)}})


def test_json_arguments_get_the_payload_bounds():
    q = "mutation($b: JSON) { setRegionBoundary(id: \"g\", boundary: $b) { id } }"
    ring = [[113.0 + i * 1e-4, 30.0] for i in range(25)] + [[113.0, 30.0]]
    assert vars_problem(q, {"b": {"type": "Polygon", "coordinates": [ring]}}) is None  # 26 > 10, under 30
    long_ring = ring * 2
    assert vars_problem(q, {"b": {"type": "Polygon", "coordinates": [long_ring]}}) == \
        "variable $b.coordinates.0: 52 items, more than 30"
    deep: list = []
    for _ in range(10):
        deep = [deep]
    assert "nested deeper than 8" in vars_problem(q, {"b": {"type": "Polygon", "coordinates": deep}})


def test_a_field_may_declare_its_own_bound_in_metadata():
    """`attendance` of RecordOrganizationalLifeInput declares max_items 1000 (the contract's)."""
    wide = Caps(Settings(graphql_max_list_items=500))
    q = "mutation($i: RecordOrganizationalLifeInput!) { recordOrganizationalLife(input: $i) { id } }"
    schema = build_schema(Settings())._schema
    assert variables_problem(schema, parse(q), {"i": {"attendance": ["m"] * 1000}}, wide) is None
    assert variables_problem(schema, parse(q), {"i": {"attendance": ["m"] * 1001}}, wide) == \
        "variable $i.attendance: 1001 items, more than 1000"


# -- contracts -------------------------------------------------------------------------------------------

def _models_under(models: typing.Iterable[type]) -> set[type]:
    seen: set[type] = set()
    todo = list(models)
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        for f in m.model_fields.values():
            todo.extend(t for t in _types(f.annotation) if isinstance(t, type) and issubclass(t, Wire))
    return seen


def _types(annotation: object) -> list[object]:
    return [annotation, *(t for a in typing.get_args(annotation) for t in _types(a))]


def _subclasses(cls: type) -> set[type]:
    return {s for c in cls.__subclasses__() for s in {c, *_subclasses(c)}}


def test_every_list_a_request_contract_takes_has_a_bound():
    """A new request model with an unbounded list fails here (events are what services publish)."""
    events = _models_under(GRID_EVENTS.values())
    unbounded = [f"{m.__module__}.{m.__name__}.{name}"
                 for m in _subclasses(Wire) - events for name, f in m.model_fields.items()
                 if any(typing.get_origin(t) in (list, set, tuple) for t in _types(f.annotation))
                 and not any(isinstance(x, annotated_types.MaxLen) for x in f.metadata)]
    assert not unbounded, unbounded
    assert shared.contracts.cases.ListCases.model_fields["status"].metadata[0].max_length == 7


# -- the parsed-document cache ---------------------------------------------------------------------------

def test_parsed_documents_are_kept_within_a_bounded_amount_of_text():
    from gateway.document_limits import DocumentCache

    schema = build_schema(Settings(graphql_cache_chars=32 * 1024))  # entries of at most 1 KB of text
    documents: DocumentCache = next(e for e in schema.extensions if e.__name__ == "Parsed").documents
    small = "{ __typename }"
    first = schema.execute_sync(small)
    assert first.errors is None and documents.get(small) is not None
    # unique large documents (an attacker's) are parsed, answered and not kept
    for i in range(50):
        big = "{ " + "__typename " * 300 + f"}} # {i}"
        assert schema.execute_sync(big).errors is not None  # over the repeat cap, refused
    assert all(len(q) <= 1024 for q in documents.entries)
    # many small ones: the oldest go, the total stays bounded
    for i in range(2000):
        schema.execute_sync(f"{{ __typename }} # {i:05d}")
    assert documents.chars <= 32 * 1024 and sum(map(len, documents.entries)) == documents.chars
    assert documents.get(small) is None and documents.get("{ __typename } # 01999") is not None
