"""Requests generated from the schema, seeded: well-formed ones and the mistakes clients make.

Every request is built from the gateway's own schema (its root fields, argument types, enums,
input objects and scalars), so a new operation is fuzzed without anyone listing it. Values
carry personal data on purpose (Chinese names, mobile numbers, 18-digit ID numbers) and ASCII
canaries in free text: after a run, none of them may appear in any log (`tests.fuzz.run`).

One `random.Random(seed)` drives everything: the same seed gives the same requests.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from graphql import (GraphQLEnumType, GraphQLField, GraphQLInputObjectType, GraphQLInputType, GraphQLList,
                     GraphQLNonNull, GraphQLObjectType, GraphQLScalarType, GraphQLSchema, get_named_type,
                     is_leaf_type)

# People who exist nowhere else in the code base, so that finding one in a log means a leak.
NAMES = ("覃慧琳", "阎振华", "欧阳秀英", "司徒建国", "上官婉清", "诸葛明远", "乜晓燕", "亓官德胜")
FIXED_PHONES = ("13900001111",)
CST = timezone(timedelta(hours=8))

# Client mistakes, and the well-formed requests they are variations of.
CLIENT_MISTAKES = ("wrong_type", "bad_enum", "missing_variable", "null_non_null", "bad_date",
                   "unknown_input_field", "syntax", "unknown_field", "multi_op", "unknown_operation",
                   "transport")
WELL_FORMED = ("valid", "inline")
# Mistakes whose answers belong to the request limits (`gateway/limits.py`): generated only
# when asked (`--all`), and counted apart.
LIMIT_CASES = ("surrogate", "deep_json")
WEIGHTS = {"valid": 30, "inline": 8, "wrong_type": 12, "bad_enum": 5, "missing_variable": 6, "null_non_null": 5,
           "bad_date": 6, "unknown_input_field": 5, "syntax": 5, "unknown_field": 5, "multi_op": 4,
           "unknown_operation": 2, "transport": 6, "surrogate": 3, "deep_json": 1}
ACCEPTS = (None, "application/json", "application/graphql-response+json", "*/*",
           "application/graphql-response+json, application/json;q=0.9")
BAD_DATES = ("2026-02-30T00:00:00+08:00", "2026-13-01T00:00:00+08:00", "2026-04-31T25:61:00+08:00",
             "昨天下午", "2026/03/01 08:00", "")


@dataclass
class FuzzRequest:
    n: int
    kind: str
    method: str = "POST"
    json_body: Any = None            # sent as JSON (application/json) unless `raw` is set
    raw: bytes | None = None         # a body sent as is
    content_type: str | None = "application/json"
    params: dict[str, str] | None = None  # GET query string
    accept: str | None = None
    token: str = "superadmin"        # which principal: superadmin, admin, resident, none, garbage
    planted: list[str] = field(default_factory=list)  # personal data and canaries it carries

    def headers(self) -> dict[str, str]:
        h = {}
        if self.content_type and self.method == "POST":
            h["content-type"] = self.content_type
        if self.accept:
            h["accept"] = self.accept
        return h

    def body(self) -> bytes | None:
        if self.method != "POST":
            return None
        if self.raw is not None:
            return self.raw
        return json.dumps(self.json_body, ensure_ascii=False).encode()


def id_number(rng: random.Random) -> str:
    """An 18-digit resident ID number with a valid check digit (GB 11643)."""
    area = rng.choice(("420106", "110105", "310115", "440305", "510107"))
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    body = f"{area}{born:%Y%m%d}{rng.randrange(1000):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def phone(rng: random.Random) -> str:
    return rng.choice(("139", "138", "186", "151", "177", "199")) + f"{rng.randrange(10 ** 8):08d}"


class Generator:
    def __init__(self, schema: GraphQLSchema, seed: int, known_ids: dict[str, list[str]] | None = None,
                 kinds: tuple[str, ...] = WELL_FORMED + CLIENT_MISTAKES):
        self.schema, self.rng = schema, random.Random(seed)
        self.seed = seed
        self.known_ids = known_ids or {}
        self.kinds = kinds
        self.roots = [("query", name, f) for name, f in schema.query_type.fields.items()]
        self.roots += [("mutation", name, f) for name, f in schema.mutation_type.fields.items()]
        self._n = 0
        self._planted: list[str] = []

    # -- personal data -------------------------------------------------------------------------
    def _plant(self, value: str) -> str:
        self._planted.append(value)
        return value

    def name(self) -> str:
        return self._plant(self.rng.choice(NAMES))

    def phone(self) -> str:
        return self._plant(self.rng.choice(FIXED_PHONES) if self.rng.random() < 0.2 else phone(self.rng))

    def id_number(self) -> str:
        return self._plant(id_number(self.rng))

    def canary(self) -> str:
        return self._plant(f"canary{self.seed}x{self._n}x{self.rng.randrange(10 ** 6)}")

    def free_text(self) -> str:
        return f"{self.name()}，电话{self.phone()}，身份证{self.id_number()}，{self.canary()}"

    # -- values of a type ------------------------------------------------------------------------
    def string_for(self, key: str) -> str:
        k = key.lower()
        if "phone" in k:
            return self.phone()
        if "idnumber" in k:
            return self.id_number()
        if k.endswith("name") or k in ("holdername",):
            return self.name()
        if k.endswith("ids") or k.endswith("id") or k in ("sub", "ref", "after", "anchor"):
            pool = self.known_ids.get(k) or self.known_ids.get("any") or []
            if pool and self.rng.random() < 0.6:
                return self.rng.choice(pool)
            return f"fz-{self.rng.randrange(16 ** 6):06x}"
        if k.endswith("key") or k == "redemptionid":
            return f"fz-key-{self.seed}-{self._n}"
        if k.endswith("code") or k == "category":
            pool = self.known_ids.get("code") or ["ENV_GARBAGE", "OTHER"]
            return self.rng.choice(pool) if self.rng.random() < 0.7 else f"FZ_{self.rng.randrange(100)}"
        return self.free_text()

    def value(self, t: GraphQLInputType, key: str = "") -> Any:
        if isinstance(t, GraphQLNonNull):
            return self.value(t.of_type, key)
        if isinstance(t, GraphQLList):
            return [self.value(t.of_type, key) for _ in range(self.rng.randrange(0, 3))]
        if isinstance(t, GraphQLEnumType):
            return self.rng.choice(list(t.values))
        if isinstance(t, GraphQLInputObjectType):
            out = {}
            for name, f in t.fields.items():
                if isinstance(f.type, GraphQLNonNull) or self.rng.random() < 0.5:
                    out[name] = self.value(f.type, name)
            return out
        assert isinstance(t, GraphQLScalarType)
        return self.scalar(t.name, key)

    def scalar(self, name: str, key: str) -> Any:
        k = key.lower()
        if name in ("String", "ID"):
            return self.string_for(key)
        if name == "Int":
            if k == "first":
                return self.rng.randrange(0, 30)
            if k == "score":
                return self.rng.randrange(1, 6)
            return self.rng.randrange(0, 200)
        if name == "Float":
            if k == "lng":
                return round(self.rng.uniform(113.0, 114.5), 5)
            if k == "lat":
                return round(self.rng.uniform(30.0, 31.0), 5)
            return round(self.rng.uniform(0, 8), 2)
        if name == "Boolean":
            return self.rng.random() < 0.5
        if name == "DateTime":
            at = datetime(2026, 11, 21, 8, tzinfo=CST) + timedelta(minutes=self.rng.randrange(-60 * 24 * 60, 60 * 24 * 30))
            return at.isoformat()
        if name == "Date":
            return (date(2026, 11, 21) - timedelta(days=self.rng.randrange(3650))).isoformat()
        if name == "JSON":
            if k == "boundary":
                x, y = round(self.rng.uniform(113.0, 114.0), 3), round(self.rng.uniform(30.0, 31.0), 3)
                return {"type": "Polygon", "coordinates": [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]]}
            return {"note": self.free_text()}
        return self.free_text()

    # -- documents -------------------------------------------------------------------------------
    def selection(self, t: Any, depth: int = 0) -> str:
        named = get_named_type(t)
        if is_leaf_type(named):
            return ""
        if not isinstance(named, GraphQLObjectType):
            return "{ __typename }"
        names = [n for n, f in named.fields.items()
                 if is_leaf_type(get_named_type(f.type)) and not any(isinstance(a.type, GraphQLNonNull) for a in f.args.values())]
        # Now and then every field, so that each output field is read by some request.
        many = len(names) if self.rng.random() < 0.25 else self.rng.randrange(1, 4)
        picked = self.rng.sample(names, min(len(names), many)) if names else []
        if depth == 0 and self.rng.random() < 0.3:
            objects = [n for n, f in named.fields.items()
                       if isinstance(get_named_type(f.type), GraphQLObjectType) and not f.args]
            if objects:
                o = self.rng.choice(objects)
                picked.append(f"{o} {self.selection(named.fields[o].type, depth + 1)}")
        return "{ " + " ".join(["__typename", *picked]) + " }"

    def pick_root(self, want_dates: bool = False) -> tuple[str, str, GraphQLField]:
        roots = self.roots
        if want_dates:
            roots = [r for r in roots if self._has_scalar(r[2], ("DateTime", "Date"))] or roots
        return self.rng.choice(roots)

    def _has_scalar(self, f: GraphQLField, scalars: tuple[str, ...]) -> bool:
        seen: set[str] = set()

        def walk(t: Any) -> bool:
            named = get_named_type(t)
            if isinstance(named, GraphQLScalarType):
                return named.name in scalars
            if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
                seen.add(named.name)
                return any(walk(x.type) for x in named.fields.values())
            return False
        return any(walk(a.type) for a in f.args.values())

    def operation(self, op_type: str, name: str, f: GraphQLField, op_name: str,
                  include_optional: float = 0.4) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(document, variables, variable types) calling one root field with every required
        argument (and some optional ones) passed as variables."""
        args = {a: arg for a, arg in f.args.items()
                if isinstance(arg.type, GraphQLNonNull) or self.rng.random() < include_optional}
        defs = ", ".join(f"${a}: {arg.type}" for a, arg in args.items())
        call = ", ".join(f"{a}: ${a}" for a in args)
        doc = (f"{op_type} {op_name}{f'({defs})' if defs else ''} "
               f"{{ {name}{f'({call})' if call else ''} {self.selection(f.type)} }}")
        variables = {a: self.value(arg.type, a) for a, arg in args.items()}
        return doc, variables, {a: arg.type for a, arg in args.items()}

    # -- mistakes --------------------------------------------------------------------------------
    def wrong_value(self, t: Any) -> Any:
        named = get_named_type(t)
        if isinstance(t, GraphQLNonNull):
            t = t.of_type
        if isinstance(t, GraphQLList):
            return {"not": "a list", "who": self.name()}
        if isinstance(named, GraphQLInputObjectType):
            return self.rng.choice((self.free_text(), 42, [self.phone()]))
        if isinstance(named, GraphQLEnumType):
            return self.rng.choice((7, True, {"v": self.name()}))
        if named.name in ("Int", "Float"):
            return self.rng.choice((self.phone() + "号", "三", {"n": self.id_number()}, True, 2 ** 63))
        if named.name == "Boolean":
            return self.rng.choice(("yes", 1, self.name()))
        if named.name in ("DateTime", "Date"):
            return self.rng.choice((20261121, {"at": self.free_text()}, True))
        return self.rng.choice((12345678901, {"v": self.free_text()}, [self.name()], 3.5))

    def _mutate_leaf(self, value: Any, t: Any, how: str) -> tuple[Any, bool]:
        """Change one leaf of `value` (of type `t`) in the manner `how`; (new value, changed)."""
        inner = t.of_type if isinstance(t, GraphQLNonNull) else t
        named = get_named_type(t)
        if isinstance(inner, GraphQLInputObjectType) and isinstance(value, dict):
            keys = [k for k in value if k in inner.fields]
            self.rng.shuffle(keys)
            if how == "unknown_input_field" or not keys:
                value = dict(value, **{self.rng.choice(("phoneNumber", "身份证号", "residentName", "extra")): self.free_text()})
                return value, True
            for k in keys:
                new, changed = self._mutate_leaf(value[k], inner.fields[k].type, how)
                if changed:
                    return dict(value, **{k: new}), True
            if how == "missing_variable":
                required = [k for k in keys if isinstance(inner.fields[k].type, GraphQLNonNull)]
                if required:
                    return {k: v for k, v in value.items() if k != required[0]}, True
            return value, False
        if isinstance(inner, GraphQLList) and isinstance(value, list) and value and self.rng.random() < 0.5:
            i = self.rng.randrange(len(value))
            new, changed = self._mutate_leaf(value[i], inner.of_type, how)
            return [*value[:i], new, *value[i + 1:]], changed
        if how == "bad_enum" and isinstance(named, GraphQLEnumType):
            return self.rng.choice(("NOPE", "reported", self.name(), "")), True
        if how == "bad_date" and isinstance(named, GraphQLScalarType) and named.name in ("DateTime", "Date"):
            return self.rng.choice(BAD_DATES), True
        if how == "null_non_null" and isinstance(t, GraphQLNonNull):
            return None, True
        if how == "wrong_type":
            return self.wrong_value(t), True
        return value, False

    def next(self) -> FuzzRequest:
        self._n += 1
        self._planted = []
        kind = self.rng.choices(self.kinds, weights=[WEIGHTS[k] for k in self.kinds])[0]
        req = FuzzRequest(self._n, kind, accept=self.rng.choice(ACCEPTS),
                          token=self.rng.choices(("superadmin", "admin", "resident", "none", "garbage"),
                                                 weights=(70, 10, 10, 5, 5))[0])
        getattr(self, f"_{kind}")(req)
        req.planted = list(dict.fromkeys(self._planted))
        return req

    def _op_name(self) -> str:
        return f"Fuzz{self._n}"

    def _valid(self, req: FuzzRequest) -> None:
        op_type, name, f = self.pick_root()
        doc, variables, _ = self.operation(op_type, name, f, self._op_name())
        req.json_body = {"query": doc, "variables": variables}
        if self.rng.random() < 0.3:
            req.json_body["operationName"] = self._op_name()

    def _inline(self, req: FuzzRequest) -> None:
        op_type, name, f = self.pick_root()
        args = {a: arg for a, arg in f.args.items() if isinstance(arg.type, GraphQLNonNull) or self.rng.random() < 0.4}
        call = ", ".join(f"{a}: {literal(self.value(arg.type, a), arg.type)}" for a, arg in args.items())
        req.json_body = {"query": f"{op_type} {{ {name}{f'({call})' if call else ''} {self.selection(f.type)} }}"}

    def _mutated(self, req: FuzzRequest, how: str, want_dates: bool = False) -> None:
        for _ in range(20):
            op_type, name, f = self.pick_root(want_dates)
            doc, variables, types = self.operation(op_type, name, f, self._op_name(), include_optional=0.7)
            keys = list(variables)
            self.rng.shuffle(keys)
            for k in keys:
                if how == "missing_variable" and isinstance(types[k], GraphQLNonNull) and self.rng.random() < 0.6:
                    del variables[k]
                    break
                new, changed = self._mutate_leaf(variables[k], types[k], how)
                if changed:
                    variables[k] = new
                    break
            else:
                continue
            req.json_body = {"query": doc, "variables": variables}
            return
        req.json_body = {"query": doc, "variables": variables}  # nothing to spoil: a valid request

    def _wrong_type(self, req: FuzzRequest) -> None:
        self._mutated(req, "wrong_type")

    def _bad_enum(self, req: FuzzRequest) -> None:
        self._mutated(req, "bad_enum")

    def _missing_variable(self, req: FuzzRequest) -> None:
        self._mutated(req, "missing_variable")

    def _null_non_null(self, req: FuzzRequest) -> None:
        self._mutated(req, "null_non_null")

    def _bad_date(self, req: FuzzRequest) -> None:
        if self.rng.random() < 0.3:  # as a literal in the document
            req.json_body = {"query": f'{{ hotspots(regionId: "{self.string_for("regionId")}", '
                                      f'since: "{self.rng.choice(BAD_DATES)}") {{ count }} }}'}
            return
        self._mutated(req, "bad_date", want_dates=True)

    def _unknown_input_field(self, req: FuzzRequest) -> None:
        self._mutated(req, "unknown_input_field")

    def _syntax(self, req: FuzzRequest) -> None:
        op_type, name, f = self.pick_root()
        doc, variables, _ = self.operation(op_type, name, f, self._op_name())
        cut = self.rng.randrange(1, max(2, len(doc)))
        broken = self.rng.choice((doc[:cut], doc.replace("{", "(", 1), doc + " }",
                                  f'mutation {{ reportCase(input: {{reporterName: "{self.name()}", reporterPhone: {self.phone()}',
                                  f"{self.free_text()} {{ me {{ sub }} }}"))
        req.json_body = {"query": broken, "variables": variables}

    def _unknown_field(self, req: FuzzRequest) -> None:
        op_type, name, f = self.pick_root()
        doc, variables, _ = self.operation(op_type, name, f, self._op_name())
        how = self.rng.randrange(3)
        if how == 0:
            doc = doc.replace(f"{name}", f"{name}z", 1)
        elif how == 1:
            doc = doc.replace("__typename", "__typename residentPhone", 1)
        else:
            doc = doc.replace(f"{{ {name}", f'{{ {name}(phoneOfResident: "{self.phone()}", who: "{self.name()}")', 1) \
                if "(" not in doc.split(name, 1)[1][:2] else doc.replace(f"{name}(", f'{name}(idNumber: "{self.id_number()}", ', 1)
        req.json_body = {"query": doc, "variables": variables}

    def _multi_op(self, req: FuzzRequest) -> None:
        docs, variables = [], {}
        for i in range(2):
            op_type, name, f = self.pick_root()
            doc, v, _ = self.operation(op_type, name, f, f"{self._op_name()}o{i}")
            docs.append(doc)
            variables.update(v)
        req.json_body = {"query": "\n".join(docs), "variables": variables}

    def _unknown_operation(self, req: FuzzRequest) -> None:
        self._valid(req)
        req.json_body["operationName"] = self.rng.choice(("Other", self.name(), "Fuzz0"))

    def _transport(self, req: FuzzRequest) -> None:
        op_type, name, f = self.pick_root()
        doc, variables, _ = self.operation(op_type, name, f, self._op_name())
        how = self.rng.randrange(9)
        if how == 0:
            req.raw = json.dumps({"query": doc, "variables": variables}, ensure_ascii=False).encode()[:-3]
        elif how == 1:
            req.json_body = {"query": self.rng.choice((42, {"q": doc}, [doc], False)), "variables": variables}
        elif how == 2:
            req.json_body = {"query": doc, "variables": self.rng.choice((self.free_text(), [variables], 7))}
        elif how == 3:
            req.json_body = {"query": doc, "variables": variables, "operationName": self.rng.choice((0, {"n": self.name()}, False, ["x"]))}
        elif how == 4:
            req.json_body = {"query": doc, "variables": variables}
            req.content_type = self.rng.choice((None, "text/plain", "application/x-www-form-urlencoded"))
        elif how == 5:
            req.method, req.params = "GET", {"query": doc, "variables": json.dumps(variables, ensure_ascii=False)}
        elif how == 6:
            req.json_body = {"query": doc, "variables": variables}
            req.accept = self.rng.choice(("text/html", "application/xml", "application/graphql-response+json;q=0"))
        elif how == 7:
            req.json_body = {"qeury": doc, "variables": variables}
        else:
            req.json_body = [{"query": doc, "variables": variables}, {"query": doc}]

    def _surrogate(self, req: FuzzRequest) -> None:
        self._valid(req)
        variables = req.json_body.get("variables") or {}
        text = json.dumps(req.json_body, ensure_ascii=True)
        key = next((k for k, v in variables.items() if isinstance(v, str)), None)
        if key is not None:
            text = text.replace(json.dumps(variables[key], ensure_ascii=True), '"\\ud800' + self.name().encode("unicode_escape").decode() + '"', 1)
        req.raw = text.encode()

    def _deep_json(self, req: FuzzRequest) -> None:
        depth = self.rng.choice((200, 2000, 6000))
        req.raw = ('{"query": "{ __typename }", "variables": {"v": ' + "[" * depth + "]" * depth + "}}").encode()


def literal(value: Any, t: Any) -> str:
    """A GraphQL literal of a generated value."""
    named = get_named_type(t)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return value if isinstance(named, GraphQLEnumType) else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        inner = t.of_type if isinstance(t, GraphQLNonNull) else t
        item = inner.of_type if isinstance(inner, GraphQLList) else inner
        return "[" + ", ".join(literal(v, item) for v in value) + "]"
    if isinstance(value, dict):
        fields = named.fields if isinstance(named, GraphQLInputObjectType) else {}
        return "{" + ", ".join(f"{k}: {literal(v, fields[k].type if k in fields else named)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))
