"""GraphiQL at `/graphql` in development, served from the gateway itself.

Strawberry's own GraphiQL page loads React and GraphiQL from a CDN, so without internet it
shows only "Loading...". This page loads the copies in `gateway/graphiql/` (vendored from the
npm registry at pinned versions; see the README there), served under `/graphiql/`, and
carries a Content-Security-Policy that lets it load nothing from anywhere else. Production
serves neither the page nor the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent / "graphiql"
ASSETS_PATH = "/graphiql"

# Relative to the page, so the IDE also works behind a proxy that serves the gateway under a
# prefix. 'unsafe-inline' styles: GraphiQL's components set style attributes.
PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Yiwang GraphiQL</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="graphiql/graphiql.min.css">
    <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script src="graphiql/react.production.min.js"></script>
    <script src="graphiql/react-dom.production.min.js"></script>
    <script src="graphiql/graphiql.min.js"></script>
    <script src="graphiql/start.js"></script>
  </body>
</html>
"""
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class LocalGraphiQL:
    """Mixed into the Strawberry view: its GraphiQL page, from the gateway's own files."""

    async def render_graphql_ide(self, request: Any) -> HTMLResponse:
        return HTMLResponse(
            PAGE,
            headers={
                "Content-Security-Policy": CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-cache",
            },
        )


def ide_routes(enabled: bool) -> list[BaseRoute]:
    """The GraphiQL files, when the IDE is on (development)."""
    return [Mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="graphiql")] if enabled else []
