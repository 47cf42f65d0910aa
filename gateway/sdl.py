"""The gateway's schema as SDL, built with default settings: `python -m gateway.sdl` prints it."""

from __future__ import annotations

from gateway.schema import build_schema
from shared.settings import Settings


def sdl(settings: Settings | None = None) -> str:
    return build_schema(settings or Settings()).as_str() + "\n"


if __name__ == "__main__":
    print(sdl(), end="")
