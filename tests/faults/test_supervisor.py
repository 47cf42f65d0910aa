"""`yiwang up` against real NATS and SecantusDB: a service killed with -9 comes back, and
SIGTERM stops everything and leaves no pid files."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.embedded import HTTP_SPAN, free_port
from tests.faults.launched import alive, read_pid

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (ROOT / "services/grids/__main__.py").exists(),
                       reason="services.grids has not landed yet"),
]


def wait_for(what: str, timeout: float, probe):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout:g}s")


@pytest.fixture
def stack(tmp_path):
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("YIWANG_NATS_URL", "YIWANG_MONGO_URL")}
    env.update(YIWANG_DATA_DIR=str(data), YIWANG_HTTP_PORT=str(free_port(HTTP_SPAN)),
               YIWANG_NATS_PORT=str(free_port()), YIWANG_MONGO_PORT=str(free_port()))
    log_path = tmp_path / "launcher.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ops.cli.main", "up", "--only", "grids"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc, data
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid_file in (data / "run").glob("*.pid"):  # children outlive a killed launcher
            pid = read_pid(pid_file)
            if pid and pid_file.stem != "launcher":
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        print(log_path.read_text(errors="replace"))


def test_killed_service_restarts_and_sigterm_stops_all(stack):
    launcher, data = stack
    run = data / "run"
    first = wait_for("grids.pid", 120, lambda: read_pid(run / "grids.pid"))
    assert (run / "launcher.pid").exists()
    assert {"nats.pid", "mongo.pid"} <= {p.name for p in run.glob("*.pid")}

    def restarted() -> int | None:
        pid = read_pid(run / "grids.pid")
        return pid if pid not in (None, first) and alive(pid) else None

    os.kill(first, signal.SIGKILL)
    second = wait_for("restarted grids", 10, restarted)
    assert alive(second) and not alive(first)

    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(timeout=30) == 0
    assert not alive(second)
    assert list(run.glob("*.pid")) == []
