"""`yiwang up` takes its children with it: killed with -9, they stop too (nothing runs on
unsupervised) and `yiwang stop` / `yiwang up` afterwards find a clean slate; with its stdout
closed (`make run | head`), it keeps supervising and still stops everything in order."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ops.cli.supervisor import STOP_GRACE_S
from shared.embedded import HTTP_SPAN, free_port
from tests.faults.test_supervisor import ROOT, alive, read_pid, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's"),
]
CHILDREN = ("nats", "mongo", "grids")


def launcher_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("YIWANG_NATS_URL", "YIWANG_MONGO_URL")}
    env.update(YIWANG_DATA_DIR=str(data.resolve()), YIWANG_HTTP_PORT=str(free_port(HTTP_SPAN)),
               YIWANG_NATS_PORT=str(free_port()), YIWANG_MONGO_PORT=str(free_port()))
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ops.cli.main", *args]


def children(run: Path) -> dict[str, int]:
    pids = {name: read_pid(run / f"{name}.pid") for name in CHILDREN}
    return pids if all(pids.values()) else {}


def clean_up(pids: dict[str, int]) -> None:
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def test_killed_launcher_takes_its_children_and_leaves_a_clean_slate(tmp_path):
    data = tmp_path / "data"
    env = launcher_env(data)
    run = data / "run"
    with open(tmp_path / "launcher.log", "wb") as log:
        launcher = subprocess.Popen(cli("up", "--only", "grids"), cwd=ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
    pids: dict[str, int] = {}
    try:
        pids = wait_for("every child's pid", 120, lambda: children(run))
        launcher.kill()  # SIGKILL: no handler of its own runs
        launcher.wait()
        for name, pid in pids.items():  # SIGTERM from the kernel; each drains within its grace
            wait_for(f"{name} ({pid}) to stop with the launcher", STOP_GRACE_S * 3, lambda pid=pid: not alive(pid))
        # The pid files are left behind; `yiwang stop` clears them and says nothing is running.
        out = subprocess.run(cli("stop"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 1 and "not running" in out.stdout, out.stdout + out.stderr
        assert list(run.glob("*.pid")) == []
    finally:
        if launcher.poll() is None:
            launcher.kill()
        clean_up(pids)
        print((tmp_path / "launcher.log").read_text(errors="replace"))


def test_yiwang_stop_stops_children_a_dead_launcher_left(tmp_path):
    """Children that outlived their launcher (one that could not take them along: not Linux,
    or started before this version) are found by their pid files and stopped by `yiwang stop`;
    `yiwang up` refuses to start beside them."""
    data = tmp_path / "data"
    env = launcher_env(data)
    run = data / "run"
    run.mkdir(parents=True)
    (data / "logs").mkdir()
    # A child of a launcher of this data dir, as the launcher starts one (own session, env).
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], env=env,
                              start_new_session=True)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    try:
        (run / "grids.pid").write_text(f"{orphan.pid}\n")
        (run / "cases.pid").write_text(f"{stranger.pid}\n")  # a recycled pid: not ours, left alone
        (run / "launcher.pid").write_text("999999999\n")
        out = subprocess.run(cli("up", "--only", "grids"), cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 1 and f"grids {orphan.pid}" in out.stdout, out.stdout + out.stderr
        out = subprocess.run(cli("stop"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and f"grids {orphan.pid}" in out.stdout, out.stdout + out.stderr
        assert orphan.wait(STOP_GRACE_S * 2) == -signal.SIGTERM
        assert stranger.poll() is None
        assert list(run.glob("*.pid")) == []
    finally:
        for p in (orphan, stranger):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_closed_stdout_does_not_stop_the_launcher_nor_its_shutdown(tmp_path):
    data = tmp_path / "data"
    env = launcher_env(data)
    run = data / "run"
    launcher = subprocess.Popen(cli("up", "--only", "grids"), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    pids: dict[str, int] = {}
    try:
        assert launcher.stdout is not None
        first = launcher.stdout.readline()
        assert first.startswith(b"[yiwang]"), first
        launcher.stdout.close()  # `| head -1`: whatever it says next goes into a broken pipe
        pids = wait_for("every child's pid", 120, lambda: children(run))
        log = data / "logs" / "launcher.log"  # what it says goes there too
        wait_for("the launcher to say it started", 120, lambda: log.exists() and "started" in log.read_text())
        assert launcher.poll() is None, "a closed stdout stopped the launcher"
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=STOP_GRACE_S * 4) == 0
        assert not any(alive(pid) for pid in pids.values())
        assert list(run.glob("*.pid")) == []
        said = log.read_text()
        assert "stopping" in said and "stopped" in said
    finally:
        if launcher.poll() is None:
            launcher.kill()
        clean_up(pids)
