"""The download endpoint refuses a forged or expired link before it touches the store, and serves a
good one with the stored type, nosniff and no caching past the link's expiry. The store is a stub
that records being opened: no I/O."""
from __future__ import annotations

import time

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from gateway.downloads import download_endpoint
from shared.blobs import Blob
from shared.errors import NotFound
from shared.evidence import download_path, url_key
from shared.settings import Settings


class Store:
    def __init__(self) -> None:
        self.opened: list[str] = []

    async def open(self, key: str) -> Blob:
        self.opened.append(key)
        if key != "att1":
            raise NotFound(key)

        async def chunks():
            yield b"%PDF-1.4 "
            yield b"body"

        return Blob(key, "application/pdf", 13, chunks())


async def get(store: Store, path: str) -> httpx.Response:
    settings = Settings()
    app = Starlette(routes=[Route("/files/{id:str}/{variant:str}", download_endpoint(settings, {"blobs": store}))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
        return await client.get(path)


async def test_forged_and_expired_links_never_reach_the_store():
    store, key = Store(), url_key(Settings().jwt_secret)
    good = download_path(key, "att1", "file", int(time.time()) + 300)
    for bad in (good.replace("att1", "att2"), good.replace("/file?", "/thumb?"), good + "x",
                good.split("&sig=")[0], good.replace("exp=", "exp=1"), "/files/att1/file"):
        assert (await get(store, bad)).status_code == 403, bad
    expired = await get(store, download_path(key, "att1", "file", int(time.time()) - 1))
    assert expired.status_code == 410 and expired.headers["cache-control"] == "no-store"
    assert store.opened == []
    r = await get(store, good)
    assert r.status_code == 200 and r.content == b"%PDF-1.4 body" and store.opened == ["att1"]
    assert r.headers["content-type"] == "application/pdf" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"] == 'attachment; filename="att1.pdf"'
    assert 0 < int(r.headers["cache-control"].split("max-age=")[1]) <= 300
    gone = await get(store, download_path(key, "att9", "file", int(time.time()) + 300))
    assert gone.status_code == 404
