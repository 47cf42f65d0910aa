"""`yiwang up`: embedded NATS and MongoDB, then the services, then the gateway, all supervised.

We run this small supervisor instead of supervisord or circus because `up` needs readiness
ordering and a drain-ordered shutdown (gateway, services, infra) inside one foreground command.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import shared
from ops.cli.announce import announce
from ops.cli.services import SERVICES
from ops.cli.supervisor import STOP_GRACE_S, Child, log_to, say
from shared import embedded
from shared.identity import ensure_dev_issuer
from shared.settings import Settings

ROOT = Path(shared.__file__).resolve().parent.parent


class LaunchError(RuntimeError):
    pass


def app_modules(only: set[str] | None = None) -> dict[str, str]:
    """Application processes to start, name -> module: those whose package has landed."""
    candidates = {name: f"services.{name}" for name in SERVICES} | {"gateway": "gateway"}
    return {
        name: module
        for name, module in candidates.items()
        if (only is None or name in only) and (ROOT / module.replace(".", "/") / "__main__.py").exists()
    }


def child_env(settings: Settings, data: Path) -> dict[str, str]:
    """The parent environment, pointed at the same servers and data dir, importable anywhere."""
    env = dict(
        os.environ,
        YIWANG_NATS_URL=",".join(settings.nats_servers),
        PYTHONUNBUFFERED="1",
        YIWANG_MONGO_URL=settings.mongo_uri,
        YIWANG_DATA_DIR=str(data),
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


def running_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _ours(pid: int, data: Path) -> bool:
    """Whether live `pid` is a child of a launcher of this data dir (its environment says so),
    not an unrelated process that took a recycled pid. Without /proc the pid file is trusted."""
    if not Path("/proc/self").exists():
        return True
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"YIWANG_DATA_DIR={data}".encode() in environ


def leftovers(data: Path) -> dict[str, int]:
    """Children an earlier launcher of `data` left running (name -> pid); stale pid files of
    dead ones are removed on the way."""
    found = {}
    for pid_file in (data / "run").glob("*.pid"):
        if pid_file.stem == "launcher":
            continue
        pid = running_pid(pid_file)
        if pid is not None and _ours(pid, data):
            found[pid_file.stem] = pid
        else:
            pid_file.unlink(missing_ok=True)
    return found


def stop_leftovers(data: Path, found: dict[str, int], grace: float = STOP_GRACE_S) -> None:
    """SIGTERM each left-over child's process group, SIGKILL what is still there after
    `grace`, and remove their pid files."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in found.values():
            try:
                os.killpg(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + grace
        while any(_alive(pid) for pid in found.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not any(_alive(pid) for pid in found.values()):
            break
    for name in found:
        (data / "run" / f"{name}.pid").unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _require_free(port: int, what: str) -> None:
    if embedded.port_open(port):
        raise LaunchError(f"port {port} for {what} is already in use")


def plan(settings: Settings, data: Path, only: set[str] | None) -> tuple[list[Child], list[Child]]:
    """The infra children (embedded servers not replaced by a URL) and the application ones."""
    if unknown := (only or set()) - {*SERVICES, "gateway"}:
        raise LaunchError(
            f"--only: unknown {', '.join(sorted(unknown))}; choose from {', '.join((*SERVICES, 'gateway'))}"
        )
    env = child_env(settings, data)
    if settings.jwks_url is None:  # the development issuer: made before anyone verifies with it
        env["YIWANG_ISSUER_KEY_FILE"] = str(ensure_dev_issuer(settings.model_copy(update={"data_dir": data})))

    def make(name: str, argv: list[str], own: dict[str, str] | None = None) -> Child:
        child_env = env | (own or {})
        return Child(name, argv, child_env, data / "run", data / "logs", settings.log_max_bytes, settings.log_backups)

    def ports(name: str) -> dict[str, str]:
        """A service's own /healthz, /readyz and /metrics: the gateway's port + 1, + 2, …"""
        if name not in SERVICES:
            return {}
        port = settings.http_port + 1 + list(SERVICES).index(name)
        _require_free(port, f"the {name} service's health and metrics")
        return {"YIWANG_SERVICE_HTTP_PORT": str(port)}

    infra = []
    if settings.embedded_nats:
        _require_free(settings.nats_port, "NATS")
        infra.append(make("nats", embedded.nats_command(settings.nats_port, data)))
    if settings.embedded_mongo:
        _require_free(settings.mongo_port, "MongoDB")
        infra.append(make("mongo", embedded.mongo_command(settings.mongo_port, data)))
    apps = [make(name, [sys.executable, "-m", module], ports(name)) for name, module in app_modules(only).items()]
    if any(c.name == "gateway" for c in apps):
        _require_free(settings.http_port, "the gateway")
    return infra, apps


async def up(settings: Settings, *, demo: bool = False, only: set[str] | None = None, scale: str = "small") -> int:
    data = settings.data_dir.resolve()
    for sub in ("run", "logs"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    launcher_pid = data / "run" / "launcher.pid"
    if (other := running_pid(launcher_pid)) is not None:
        say(f"already running (pid {other}); run `yiwang stop` first")
        return 1
    if found := leftovers(data):
        say(
            f"processes of an earlier run are still running ({', '.join(f'{n} {p}' for n, p in found.items())}); "
            "run `yiwang stop` first"
        )
        return 1
    try:
        infra, apps = plan(settings, data, only)
    except LaunchError as e:
        say(str(e))
        return 1
    launcher_pid.write_text(f"{os.getpid()}\n")
    log_to(data / "logs" / "launcher.log")
    stop, failed = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: its terminal closed
        loop.add_signal_handler(sig, stop.set)

    async def boot() -> None:
        try:
            for child in infra:
                child.start()
            await asyncio.gather(
                embedded.wait_nats(settings.nats_servers, timeout=60),
                embedded.wait_mongo(settings.mongo_uri, timeout=120),
            )
            for child in apps:
                child.start()
            say(f"started {', '.join(c.name for c in infra + apps)}; logs in {data / 'logs'}")
            if any(c.name == "gateway" for c in apps):
                await announce(settings, demo, scale)
            elif demo:
                say("--demo skipped: the gateway is not part of this run")
        except Exception as e:  # noqa: BLE001 - reported, then everything is stopped
            say(f"start-up failed: {e}")
            failed.set()
            stop.set()

    booting = asyncio.create_task(boot())
    try:
        await stop.wait()
    finally:
        booting.cancel()
        say("stopping")
        gateway = [c for c in apps if c.name == "gateway"]
        services = [c for c in apps if c.name != "gateway"]
        for group in (gateway, services, infra):
            await asyncio.gather(*(child.stop() for child in group), return_exceptions=True)
        launcher_pid.unlink(missing_ok=True)
    say("stopped")
    log_to(None)
    return 1 if failed.is_set() else 0


def stop(settings: Settings, timeout: float = 60.0) -> int:
    """Ask a running launcher to stop (SIGTERM) and wait until it has."""
    data = settings.data_dir.resolve()
    pid_file = data / "run" / "launcher.pid"
    pid = running_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        if found := leftovers(data):  # a launcher that died without stopping its children
            say(f"no launcher; stopping what it left: {', '.join(f'{n} {p}' for n, p in found.items())}")
            stop_leftovers(data, found)
            return 0
        say(f"not running (no live pid in {pid_file})")
        return 1
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running_pid(pid_file) == pid and time.monotonic() < deadline:
        time.sleep(0.2)
    if running_pid(pid_file) == pid:
        say(f"launcher {pid} still running after {timeout:g}s")
        return 1
    say(f"stopped launcher {pid}")
    return 0
