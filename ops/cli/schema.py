"""`yiwang schema`: the gateway's GraphQL schema (SDL), as front ends and code generators
take it. The same text is checked in as `schema.graphql` at the top of the repository;
tests/unit/test_schema_sdl.py fails when the two differ."""

from __future__ import annotations

import argparse

from shared.settings import Settings


def schema_arguments(p: argparse.ArgumentParser) -> None:
    pass


def sdl(settings: Settings) -> str:
    from gateway.schema import build_schema

    return build_schema(settings).as_str() + "\n"


def schema(args: argparse.Namespace, settings: Settings) -> int:
    """print the GraphQL schema (SDL) of the gateway"""
    print(sdl(settings), end="")
    return 0
