"""The fault suite runs its 3-node JetStream cluster from the production node config with local
addresses: the durability and cluster settings must come through unchanged."""
from __future__ import annotations

from pathlib import Path

from tests.faults.launched import CLUSTER_CONF, NatsNode, cluster_config


def test_local_node_config_keeps_the_production_settings(tmp_path):
    node = NatsNode("nats-2", 14222, 16222, 18222, tmp_path / "store", tmp_path / "n.conf", tmp_path / "n.log")
    routes = ["nats://127.0.0.1:16221", "nats://127.0.0.1:16222", "nats://127.0.0.1:16223"]
    text = cluster_config(CLUSTER_CONF.read_text(), node, routes)
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    assert "server_name: nats-2" in lines
    assert "listen: 127.0.0.1:14222" in lines and "listen: 127.0.0.1:16222" in lines
    assert "http: 127.0.0.1:18222" in lines
    assert f'store_dir: "{Path(tmp_path / "store")}"' in lines
    assert routes == [line for line in lines if line.startswith("nats://")]
    for kept in ("sync_interval: always", "max_payload: 8MB", "name: yiwang"):
        assert kept in lines, kept
    assert not any(line.startswith("include") or "0.0.0.0" in line for line in lines)
