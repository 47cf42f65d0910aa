"""Headless Chromium for tests, driven over the DevTools protocol: open a page, record every
request it makes and every console message, and evaluate JavaScript in it.

Skips the test (with the reason) where no Chromium is installed: `apt-get install chromium`.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
         "--no-default-browser-check", "--remote-debugging-port=0", "--remote-allow-origins=*")


def chromium() -> str:
    for name in CANDIDATES:
        if path := shutil.which(name):
            return path
    pytest.skip("no Chromium installed (apt-get install chromium): the browser checks need one")


@dataclass
class Page:
    ws: Any
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _waiting: dict[int, asyncio.Future] = field(default_factory=dict)

    async def send(self, method: str, **params: Any) -> dict:
        n = next(self._ids)
        reply = self._waiting[n] = asyncio.get_running_loop().create_future()
        try:
            await self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
            return await reply
        finally:
            self._waiting.pop(n, None)

    async def evaluate(self, expression: str) -> Any:
        reply = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in reply:
            raise AssertionError(f"{expression!r} threw: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def until(self, expression: str, timeout: float) -> Any:
        """Until `expression` is truthy in the page (polled); its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{expression!r} still false after {timeout:g}s; console: {self.console}")
            await asyncio.sleep(0.1)

    async def _read(self) -> None:
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg and msg["id"] in self._waiting:
                fut = self._waiting[msg["id"]]
                if not fut.done():
                    if "error" in msg:
                        fut.set_exception(AssertionError(msg["error"]))
                    else:
                        fut.set_result(msg.get("result", {}))
                continue
            params = msg.get("params", {})
            match msg.get("method"):
                case "Network.requestWillBeSent":
                    self.requests.append(params["request"]["url"])
                case "Network.webSocketCreated":
                    self.requests.append(params["url"])
                case "Runtime.consoleAPICalled":
                    self.console.append(f"{params['type']}: " + " ".join(
                        str(a.get("value", a.get("description", ""))) for a in params["args"]))
                case "Runtime.exceptionThrown":
                    self.console.append(f"exception: {params['exceptionDetails']}")
                case "Log.entryAdded":
                    self.console.append(f"{params['entry']['level']}: {params['entry']['text']}")


@contextlib.asynccontextmanager
async def open_page(url: str, start_timeout: float = 120.0) -> AsyncIterator[Page]:
    """A fresh headless Chromium (own profile) showing `url`, recorded from the first request."""
    import websockets

    binary = chromium()
    with tempfile.TemporaryDirectory(prefix="yiwang-chromium-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        reader = None
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + start_timeout
            while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"chromium did not start (exit code {proc.poll()})")
                await asyncio.sleep(0.1)
            port = int(port_file.read_text().splitlines()[0])
            import httpx

            async with httpx.AsyncClient() as http:
                targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
            target = next(t for t in targets if t["type"] == "page")
            async with websockets.connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
                page = Page(ws)
                reader = asyncio.create_task(page._read())
                for domain in ("Network", "Runtime", "Log", "Page"):
                    await page.send(f"{domain}.enable")
                await page.send("Page.navigate", url=url)
                yield page
        finally:
            if reader is not None:
                reader.cancel()
            # Chromium and its helper processes (its own process group): all of them, so that
            # none is left writing into the profile.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
