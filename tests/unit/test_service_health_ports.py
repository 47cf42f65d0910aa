"""Each service's /healthz, /readyz and /metrics port: the manifests probe and scrape it, and
`yiwang up` gives every service its own next to the gateway's."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ops.cli.launcher import SERVICES, plan
from shared.embedded import HTTP_SPAN, free_port
from shared.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def test_every_service_deployment_is_probed_and_scraped_on_its_own_port():
    docs = [d for d in yaml.safe_load_all((DEPLOY / "services.yaml").read_text()) if d and d["kind"] == "Deployment"]
    assert sorted(d["metadata"]["name"] for d in docs) == sorted(SERVICES)
    for d in docs:
        pod = d["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        assert container["ports"] == [{"name": "metrics", "containerPort": 9000}], d["metadata"]["name"]
        assert {"name": "YIWANG_SERVICE_HTTP_PORT", "value": "9000"} in container["env"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == "9000"


def test_yiwang_up_gives_each_service_the_next_port(tmp_path):
    port = free_port(HTTP_SPAN)
    assert HTTP_SPAN == 1 + len(SERVICES)  # what a stack's tests reserve from its gateway's port on
    settings = Settings(http_port=port, nats_url="nats://127.0.0.1:1", mongo_url="mongodb://127.0.0.1:1")
    _, apps = plan(settings, tmp_path, None)
    given = {c.name: c.env.get("YIWANG_SERVICE_HTTP_PORT") for c in apps}
    assert given.pop("gateway") is None
    assert given == {name: str(port + 1 + i) for i, name in enumerate(SERVICES)}


def test_a_free_port_is_drawn_outside_the_range_of_outgoing_connections():
    """Free ports are drawn below the kernel's range for outgoing connections (a client could take
    one from that range before the server binds it), each of a span free at once."""
    import socket

    from shared.embedded import _ephemeral_range

    low, _ = _ephemeral_range()
    ports = [free_port(HTTP_SPAN) for _ in range(20)]
    assert all(10_000 <= p and p + HTTP_SPAN <= low for p in ports)
    held = socket.socket()
    held.bind(("127.0.0.1", ports[0] + 2))
    with held:
        others = {free_port(HTTP_SPAN) for _ in range(20)}
    assert not any(p <= ports[0] + 2 < p + HTTP_SPAN for p in others)  # none spans a port in use


def test_secrets_come_from_files_in_the_secrets_dir(tmp_path, monkeypatch):
    """Kubernetes mounts a Secret's keys as files: YIWANG_SECRETS_DIR reads them; the environment
    still wins; a directory that is not there stops the process with the reason."""
    from shared.settings import InvalidSettings, load_settings

    monkeypatch.delenv("YIWANG_JWT_SECRET", raising=False)
    (tmp_path / "YIWANG_JWT_SECRET").write_text("a-secret-read-from-its-file-0123456789")
    (tmp_path / "YIWANG_NATS_URL").write_text("nats://grids:pw@nats:4222")
    monkeypatch.setenv("YIWANG_SECRETS_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.jwt_secret == "a-secret-read-from-its-file-0123456789"
    assert settings.nats_servers == ["nats://grids:pw@nats:4222"]
    monkeypatch.setenv("YIWANG_JWT_SECRET", "from-the-environment")
    assert load_settings().jwt_secret == "from-the-environment"
    monkeypatch.setenv("YIWANG_SECRETS_DIR", str(tmp_path / "missing"))
    with pytest.raises(InvalidSettings, match="YIWANG_SECRETS_DIR"):
        load_settings()
