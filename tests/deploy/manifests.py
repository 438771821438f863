"""Rendering deploy/k8s for the tests: ``kubectl kustomize`` when installed, else a small
renderer for the subset of kustomize the manifests use (resources, namespace, labels,
configMapGenerator literals, secretGenerator files; no hash suffixes)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
# The two ways to run the relays, each a kustomization of its own over deploy/k8s/base.
VARIANTS = {"hostnetwork": K8S, "loadbalancer": K8S / "loadbalancer"}

Obj = dict[str, Any]

# Kinds the renderer leaves without a namespace.
CLUSTER_SCOPED = {"Namespace"}


def kustomization(directory: Path) -> Obj:
    data: Obj = yaml.safe_load((directory / "kustomization.yaml").read_text())
    return data


def render(directory: Path) -> list[Obj]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return render_without_kustomize(directory)
    out = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    return [doc for doc in yaml.safe_load_all(out) if doc]


def render_without_kustomize(directory: Path) -> list[Obj]:
    spec = kustomization(directory)
    objects: list[Obj] = []
    for resource in spec.get("resources", []):
        path = directory / resource
        if path.is_dir():
            objects += render_without_kustomize(path)
        else:
            objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for generator in spec.get("configMapGenerator", []):
        data = dict(item.split("=", 1) for item in generator.get("literals", []))
        objects.append(
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": generator["name"]}, "data": data}
        )  # fmt: skip
    for generator in spec.get("secretGenerator", []):
        data = {}
        for item in generator.get("files", []):
            key, _, name = item.rpartition("=")
            data[key or Path(name).name] = base64.b64encode(
                (directory / name).read_bytes()
            ).decode()
        objects.append(
            {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": {"name": generator["name"]}, "data": data}
        )  # fmt: skip
    for obj in objects:
        metadata = obj.setdefault("metadata", {})
        if "namespace" in spec and obj["kind"] not in CLUSTER_SCOPED:
            metadata["namespace"] = spec["namespace"]
        for labels in spec.get("labels", []):
            metadata.setdefault("labels", {}).update(labels["pairs"])
    return objects


def without_hashes(objects: list[Obj], directory: Path) -> list[Obj]:
    """The objects with kustomize's generated-name hash suffixes taken off (everywhere)."""
    names = {g["name"] for g in _generators(directory)}
    text = yaml.safe_dump_all(objects, sort_keys=True)
    for name in names:
        text = re.sub(rf"\b{re.escape(name)}-[a-z0-9]{{10}}\b", name, text)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _generators(directory: Path) -> list[Obj]:
    spec = kustomization(directory)
    found: list[Obj] = [*spec.get("configMapGenerator", []), *spec.get("secretGenerator", [])]
    for resource in spec.get("resources", []):
        if (directory / resource).is_dir():
            found += _generators(directory / resource)
    return found


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    """The object of that kind whose name is ``name`` or ``name`` plus a kustomize hash."""
    matches = [
        o for o in objects
        if o["kind"] == kind and re.fullmatch(rf"{re.escape(name)}(-[a-z0-9]{{10}})?",
                                              o["metadata"]["name"])
    ]  # fmt: skip
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} objects"
    return matches[0]


def workloads(objects: list[Obj]) -> list[Obj]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())
