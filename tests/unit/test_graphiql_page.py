"""The GraphiQL page in development: it loads only the gateway's own files (each of them
there), under a policy that refuses any other origin; production serves neither."""
from __future__ import annotations

import re
import secrets

import httpx
from starlette.applications import Starlette

from gateway.app import Gateway, create_app
from gateway.ide import ASSETS, ide_routes
from shared.settings import Settings

PROD = {"env": "production", "jwks_url": "https://sso.example.gov.cn/jwks", "jwt_secret": secrets.token_urlsafe(32), "field_key": secrets.token_urlsafe(32)}


async def test_the_page_loads_the_gateways_own_files_only():
    page = await Gateway(Settings(), {}).render_graphql_ide(None)
    text = page.body.decode()
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    refs = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert refs and all(r == "data:," or r.startswith("graphiql/") for r in refs), refs
    assert "<script>" not in text  # no inline script: the policy allows none
    files = Starlette(routes=ide_routes(True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(files), base_url="http://gateway") as client:
        for ref in refs[1:]:
            asset = await client.get(f"/{ref}")
            assert asset.status_code == 200, ref
            assert asset.content == (ASSETS / ref.removeprefix("graphiql/")).read_bytes()
        for licence in ("LICENSE.graphiql", "LICENSE.react", "THIRD_PARTY_NOTICES.txt"):
            assert (await client.get(f"/graphiql/{licence}")).status_code == 200


def test_production_serves_no_ide():
    def paths(settings: Settings) -> set[str]:
        return {route.path for route in create_app(settings).routes}

    assert "/graphiql" in paths(Settings())
    assert "/graphiql" not in paths(Settings(**PROD))
    assert Gateway(Settings(**PROD), {}).graphql_ide is None
