"""The manifests as `kubectl apply -k deploy/k8s` would apply them, for checkers that read plain
YAML (checkov): the kustomization's resources with its `namespace` on every namespaced document
and its `images` substituted. It does these two transforms and nothing else, and refuses a
kustomization that asks for more (a patch, a generator…), so what it prints is what kustomize
would print, or nothing.

    python deploy/render.py > rendered.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

K8S = Path(__file__).resolve().parent / "k8s"
UNDERSTOOD = {"apiVersion", "kind", "namespace", "resources", "images"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass"}


def render(directory: Path = K8S) -> list[dict]:
    k = yaml.safe_load((directory / "kustomization.yaml").read_text())
    if unknown := set(k) - UNDERSTOOD:
        raise SystemExit(f"render.py does only namespace and images; the kustomization also has {sorted(unknown)}")
    images = {i["name"]: i for i in k.get("images", [])}
    out = []
    for name in k["resources"]:
        for doc in yaml.safe_load_all((directory / name).read_text()):
            if not doc:
                continue
            if k.get("namespace") and doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = k["namespace"]
            spec = doc.get("spec", {}).get("template", {}).get("spec", {})
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                base, _, tag = c["image"].partition(":")
                if base in images:
                    i = images[base]
                    new = i.get("newName", base)
                    c["image"] = f"{new}@{i['digest']}" if "digest" in i else f"{new}:{i.get('newTag', tag or 'latest')}"
            out.append(doc)
    return out


if __name__ == "__main__":
    yaml.safe_dump_all(render(), sys.stdout, sort_keys=False, allow_unicode=True)
