"""Bounds on what one request may carry, checked before any work is done for it.

One walk serves both sides: the gateway runs it on request bodies, websocket messages and
`JSON` arguments, and every service runs it on each request-reply payload before a handler
sees it (`shared.messaging.rpc.dispatch`), so nothing unbounded reaches the store even from a
caller that bypasses the gateway with a valid token. Contracts then hold each field to its own
bound (`max_length` in `shared.contracts`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bounds:
    max_depth: int  # nesting of lists and objects
    max_string: int  # characters in one string (object keys included)
    max_items: int  # elements of one list, members of one object


class RejectedJson(json.JSONDecodeError):
    """A body that is JSON but not one this platform takes (too deep, a lone surrogate, NaN).
    A JSONDecodeError, so every reader that refuses malformed JSON refuses it the same way."""

    def __init__(self, reason: str):
        super().__init__(reason, "", 0)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def _no_constant(name: str) -> float:
    raise RejectedJson(f"{name} is not a JSON number")


def shape_only(max_depth: int) -> Bounds:
    """Depth and text only: for a whole body, whose parts get their own caps later."""
    return Bounds(max_depth, max_string=1 << 62, max_items=1 << 62)


def loads_bounded(data: bytes | str, bounds: Bounds) -> Any:
    """`json.loads`, refusing NaN/Infinity, lone UTF-16 surrogates and anything over `bounds`
    (RejectedJson), and malformed JSON (JSONDecodeError)."""
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise RejectedJson(f"JSON nested deeper than {bounds.max_depth} levels") from None
    if problem := first_excess(value, bounds):
        raise RejectedJson(problem)
    return value


def _text_problem(s: str, max_string: int) -> str | None:
    if len(s) > max_string:
        return f"a string of {len(s)} characters, more than {max_string}"
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            return "a lone UTF-16 surrogate is not text"
    return None


def _where(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path) or "the value"


def first_excess(value: Any, bounds: Bounds, path: tuple[Any, ...] = ()) -> str | None:
    """The first place where `value` (decoded JSON) exceeds `bounds`, described for the
    caller, or None. Iterative: a hostile nesting costs no recursion."""
    if isinstance(value, str):
        problem = _text_problem(value, bounds.max_string)
        return f"{_where(path)}: {problem}" if problem else None
    if not isinstance(value, list | dict):
        return None
    stack: list[tuple[list | dict, int, tuple[Any, ...]]] = [(value, 1, path)]
    while stack:
        node, depth, at = stack.pop()
        if depth > bounds.max_depth:
            return f"{_where(at)}: nested deeper than {bounds.max_depth} levels"
        if len(node) > bounds.max_items:
            return (
                f"{_where(at)}: {len(node)} {'items' if isinstance(node, list) else 'members'}, "
                f"more than {bounds.max_items}"
            )
        items = enumerate(node) if isinstance(node, list) else node.items()
        for key, child in items:
            if isinstance(key, str) and (problem := _text_problem(key, bounds.max_string)):
                return f"{_where(at)}: a member name is {problem}"
            if isinstance(child, str):
                if problem := _text_problem(child, bounds.max_string):
                    return f"{_where((*at, key))}: {problem}"
            elif isinstance(child, list | dict):
                stack.append((child, depth + 1, (*at, key)))
    return None
