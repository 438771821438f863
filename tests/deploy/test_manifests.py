"""deploy/k8s: every object valid against the Kubernetes API schemas (offline, the schemas
kubernetes-validate bundles), and the manifests agree with the programs they run: the
commands parse with the real CLIs, the StatefulSet ordinal becomes ``--id``, probes hit
endpoints that exist on the ports the processes listen on, the grace period outlasts the
drain, the fleet keys Secret is mounted where ``--keys`` points."""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import pytest
from yarl import URL

import relay.cli
import signaling.cli
from relay import metrics
from relay.routing import RoutingError, parse_keys
from tests.deploy.manifests import (
    K8S,
    REPO,
    VARIANTS,
    Obj,
    find,
    kustomization,
    matches,
    render,
    render_without_kustomize,
    without_hashes,
    workloads,
)
from tests.signaling.service import SCRIPT, free_port

# The oldest Kubernetes release still common in managed clusters, and the newest bundled.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
POD_IP, NODE_IP = "10.244.1.7", "10.0.0.4"  # stand-ins for the downward API's fields
TEST_KEY = "5 000102030405060708090a0b0c0d0e0f\n"
PRE_STOP = ["/bin/sh", "-c", "kill -TERM 1"]  # checked in the manifests, run for real below


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest) -> tuple[str, list[Obj]]:
    name: str = request.param
    return name, render(VARIANTS[name])


def _objects(variant: tuple[str, list[Obj]]) -> list[Obj]:
    return variant[1]


# ---------------------------------------------------------------- schemas and kustomizations


def test_every_object_is_valid_against_the_api_schemas(variant: tuple[str, list[Obj]]) -> None:
    objects = _objects(variant)
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "Secret", "ConfigMap", "StatefulSet", "Service"} <= kinds
    assert "PodDisruptionBudget" in kinds
    for obj in objects:
        for version in KUBERNETES_VERSIONS:
            # strict: unknown fields (a typo'd key) are errors too
            kubernetes_validate.validate(obj, version, strict=True)


def test_the_validator_rejects_a_broken_manifest() -> None:
    """The validation above is not vacuous: a typo'd field and a wrong type both fail."""
    statefulset = find(render(VARIANTS["hostnetwork"]), "StatefulSet", "pywebrtc-transceiver")
    typo: Obj = {**statefulset, "spec": {**statefulset["spec"], "replica": 3}}
    wrong: Obj = {**statefulset, "spec": {**statefulset["spec"], "replicas": "three"}}
    for bad in (typo, wrong):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(bad, KUBERNETES_VERSIONS[-1], strict=True)


def _kustomization_dirs() -> Iterator[Path]:
    yield from sorted(path.parent for path in K8S.rglob("kustomization.yaml"))


def test_each_kustomization_lists_exactly_the_manifests_beside_it() -> None:
    dirs = list(_kustomization_dirs())
    assert {K8S, K8S / "base", K8S / "loadbalancer"} <= set(dirs)
    for directory in dirs:
        spec = kustomization(directory)
        listed = set(spec.get("resources", []))
        for resource in listed:
            assert (directory / resource).exists(), f"{directory}: {resource} missing"
        files = {p.name for p in directory.glob("*.yaml")} - {"kustomization.yaml"}
        assert files == {r for r in listed if r.endswith(".yaml")}, directory
        # every variant renders every object of the base
        assert spec.get("namespace") == "pywebrtc"


def test_the_fallback_renderer_agrees_with_kubectl_kustomize() -> None:
    """Without kubectl the tests render with tests/deploy/manifests.py; where kubectl is
    installed, both renderings must be the same objects (hash suffixes aside)."""
    if not any(os.access(Path(d) / "kubectl", os.X_OK) for d in os.environ["PATH"].split(":")):
        pytest.skip("kubectl is not installed: the fallback renderer is in use")
    for directory in VARIANTS.values():
        ours = render_without_kustomize(directory)
        theirs = without_hashes(render(directory), directory)

        def key(o: Obj) -> tuple[str, str]:
            return o["kind"], o["metadata"]["name"]

        def decoded(objects: list[Obj]) -> list[Obj]:
            # kustomize wraps long base64 lines: compare what the Secrets hold
            for o in objects:
                if o["kind"] == "Secret":
                    o["data"] = {k: base64.b64decode(v) for k, v in o["data"].items()}
            return sorted(objects, key=key)

        assert decoded(ours) == decoded(theirs)


# ---------------------------------------------------------------- what the pods run


def _container_env(container: Obj, objects: list[Obj]) -> dict[str, str]:
    fields = {"status.podIP": POD_IP, "status.hostIP": NODE_IP}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(find(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            env[item["name"]] = fields[item["valueFrom"]["fieldRef"]["fieldPath"]]
    return env


def _argv(container: Obj, env: dict[str, str], hostname: str, tmp: Path) -> list[str]:
    """The program and arguments the container starts, as the kubelet and its shell would:
    ``$(VAR)`` expanded from the container's env, then ``sh -c`` scripts run for real with a
    stand-in program on PATH that prints what it was given."""

    def expand(text: str) -> str:
        return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env[m[1]], text)

    words = [expand(w) for w in container.get("command", []) + container.get("args", [])]
    if words[:2] != ["/bin/sh", "-c"]:
        return words
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    for program in ("pywebrtc-signaling", "pywebrtc-relay"):
        shim = bin_dir / program
        shim.write_text('#!/bin/sh\nprintf "%s\\0" "${0##*/}" "$@"\n')
        shim.chmod(0o755)
    out = subprocess.run(
        ["/bin/sh", "-c", *words[2:]],
        env={**env, "HOSTNAME": hostname, "PATH": f"{bin_dir}:/usr/bin:/bin"},
        check=True, capture_output=True, timeout=10,
    ).stdout  # fmt: skip
    return out.decode().split("\0")[:-1]


def _parse(
    program: str, argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> argparse.Namespace:
    """Parse with the real CLI, its environment variables set as in the container."""
    for name in list(os.environ):
        if name.startswith(("PYWEBRTC_RELAY_", "PYWEBRTC_SIGNALING_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if program == "pywebrtc-relay":
        return relay.cli.build_parser().parse_args(argv)
    assert program == "pywebrtc-signaling"
    return signaling.cli.build_parser().parse_args(argv)


def _port(container: Obj, port: int | str, protocol: str = "TCP") -> int:
    """A probe's or Service's port (a name or a number) as the container's port number."""
    for declared in container.get("ports", []):
        if declared.get("protocol", "TCP") != protocol:
            continue
        if port in (declared.get("name"), declared["containerPort"]):
            number: int = declared["containerPort"]
            return number
    raise AssertionError(f"{container['name']} declares no {protocol} port {port!r}")


def _mounted_secret_file(pod: Obj, container: Obj, path: str, objects: list[Obj]) -> bytes:
    """The bytes a container reads at ``path`` when that is a file of a mounted Secret."""
    for mount in container.get("volumeMounts", []):
        prefix = mount["mountPath"].rstrip("/") + "/"
        if path.startswith(prefix):
            volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
            assert "secret" in volume, f"{path} is not on a Secret volume"
            secret = find(objects, "Secret", volume["secret"]["secretName"])
            key = path[len(prefix) :]
            assert key in secret["data"], f"{path}: the Secret has no key {key!r}"
            return base64.b64decode(secret["data"][key])
    raise AssertionError(f"{path} is on no volume of {container['name']}")


def _single_container(workload: Obj) -> tuple[Obj, Obj]:
    pod = workload["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


def _service_address(objects: list[Obj], url: str) -> tuple[Obj, int]:
    parsed = URL(url)
    assert parsed.host is not None and parsed.port is not None
    service = find(objects, "Service", parsed.host)
    assert parsed.port in [p["port"] for p in service["spec"]["ports"]], url
    return service, parsed.port


def _keys_file(tmp: Path) -> str:
    """A real keys file to stand in for the placeholder when building the configs."""
    path = tmp / "keys"
    path.write_text(TEST_KEY)
    return str(path)


def test_transceiver_id_is_the_statefulset_ordinal(
    variant: tuple[str, list[Obj]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = _objects(variant)
    statefulset = find(objects, "StatefulSet", "pywebrtc-transceiver")
    pod, container = _single_container(statefulset)
    env = _container_env(container, objects)
    assert statefulset["spec"]["replicas"] >= 2
    for ordinal in (0, 2, 17):
        hostname = f"{statefulset['metadata']['name']}-{ordinal}"
        program, *argv = _argv(container, env, hostname, tmp_path)
        assert program == "pywebrtc-signaling"
        args = _parse(program, argv, env, monkeypatch)
        assert args.id == ordinal
        args.keys = _keys_file(tmp_path)
        config, _app, _auth = signaling.cli.config_from_args(args)
        assert config.transceiver_id == ordinal
        assert config.relayed and config.codec is not None
        # the UDP socket on the pod IP: what the registry gives the relays
        assert config.udp == (POD_IP, _port(container, config.udp[1], "UDP"))


def test_transceiver_flags_match_the_fleet(
    variant: tuple[str, list[Obj]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, objects = variant
    statefulset = find(objects, "StatefulSet", "pywebrtc-transceiver")
    pod, container = _single_container(statefulset)
    env = _container_env(container, objects)
    program, *argv = _argv(container, env, "pywebrtc-transceiver-1", tmp_path)
    args = _parse(program, argv, env, monkeypatch)

    # fleet keys: the Secret's file, mounted where --keys points (the placeholder holds no
    # key, so that an unconfigured fleet fails at start instead of running on a public key)
    placeholder = _mounted_secret_file(pod, container, args.keys, objects)
    with pytest.raises(RoutingError, match="no key"):
        parse_keys(placeholder.decode())

    # the drain: SIGTERM from the preStop hook to the service, which is PID 1 (exec)
    script = container["command"][2]
    assert script.startswith("exec pywebrtc-signaling ")
    assert container["lifecycle"]["preStop"]["exec"]["command"] == PRE_STOP
    grace = pod["terminationGracePeriodSeconds"]
    assert args.drain_timeout > 0
    assert grace >= args.drain_timeout + 10, (grace, args.drain_timeout)

    # placement and registry
    args.keys = _keys_file(tmp_path)
    config, _app, _auth = signaling.cli.config_from_args(args)
    fleet = signaling.cli.fleet_from_args(args)
    assert fleet.redis is not None
    redis_service, _ = _service_address(objects, fleet.redis)
    assert redis_service["spec"]["selector"]["app.kubernetes.io/component"] == "redis"
    assert signaling.cli.http_url(args.http, fleet) == f"http://{POD_IP}:{args.http[1]}"
    _port(container, args.http[1])

    # the answer's candidates: the relays' public addresses, on the relay port
    (relay_workload,) = [w for w in workloads(objects) if w["metadata"]["name"] == "pywebrtc-relay"]
    _, relay_container = _single_container(relay_workload)
    relay_args = _parse(
        "pywebrtc-relay", relay_container["args"], _container_env(relay_container, objects),
        monkeypatch,
    )  # fmt: skip
    assert config.advertised and all(port == relay_args.listen[1] for _, port in config.advertised)
    assert config.cluster == relay_args.cluster
    if name == "loadbalancer":
        assert len(config.advertised) == 1  # the one balancer address

    # probes: the service's own endpoints on its --http port
    for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path
        assert _port(container, get["port"]) == args.http[1]


def test_relay_flags_ports_and_probes(
    variant: tuple[str, list[Obj]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, objects = variant
    kind = {"hostnetwork": "DaemonSet", "loadbalancer": "Deployment"}[name]
    workload = find(objects, kind, "pywebrtc-relay")
    pod, container = _single_container(workload)
    env = _container_env(container, objects)
    program, *argv = _argv(container, env, "node-a", tmp_path)
    assert program == "pywebrtc-relay"
    args = _parse(program, argv, env, monkeypatch)
    assert _mounted_secret_file(pod, container, args.keys, objects)
    args.keys = _keys_file(tmp_path)
    config = relay.cli.config_from_args(args)
    # no --transceiver flags: the registry in Redis names the transceivers
    assert not config.transceivers and config.registry_interval > 0
    assert config.redis_url is not None
    _service_address(objects, config.redis_url)
    assert _port(container, "ice-udp", "UDP") == args.listen[1] == 3478
    assert args.metrics is not None
    assert _port(container, "metrics") == args.metrics[1]
    if name == "hostnetwork":
        assert pod["hostNetwork"] is True
        assert pod["dnsPolicy"] == "ClusterFirstWithHostNet"  # so that the Redis name resolves
        assert args.metrics[0] == NODE_IP  # not on the node's public address
        for port in container["ports"]:
            assert port["hostPort"] == port["containerPort"]
        # TCP 443 is held for ICE-TCP (--listen-tcp, RFC 6544)
        assert _port(container, "ice-tcp") == 443
    else:
        assert not pod.get("hostNetwork", False)
    # graceful: SIGTERM stops the relay within its 5 s worker join
    assert pod["terminationGracePeriodSeconds"] > 5

    # the probes' path answers on the relay's real metrics server
    paths = {container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")}
    for probe in ("livenessProbe", "readinessProbe"):
        assert _port(container, container[probe]["httpGet"]["port"]) == args.metrics[1]

    async def get(path: str) -> bytes:
        server = await metrics.serve("127.0.0.1", 0, dict)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: probe\r\n\r\n".encode())
            response = await reader.read()
            writer.close()
            return response
        finally:
            server.close()
            await server.wait_closed()

    for path in paths:
        response = asyncio.run(get(path))
        assert response.startswith(b"HTTP/1.0 200 OK") and response.endswith(b"\r\n\r\nok\n")


def test_loadbalancer_service_is_udp_with_local_traffic_policy() -> None:
    objects = render(VARIANTS["loadbalancer"])
    service = find(objects, "Service", "pywebrtc-relay")
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    (port,) = service["spec"]["ports"]
    assert port["protocol"] == "UDP" and port["port"] == 3478
    assert not [o for o in objects if o["kind"] == "DaemonSet"]
    # the host-network variant has no Service in front of the relays
    assert not [
        o for o in render(VARIANTS["hostnetwork"])
        if o["kind"] == "Service" and o["metadata"]["name"] == "pywebrtc-relay"
    ]  # fmt: skip


def test_services_and_budgets_select_real_pods_and_ports(variant: tuple[str, list[Obj]]) -> None:
    objects = _objects(variant)
    pods = {w["metadata"]["name"]: w["spec"]["template"] for w in workloads(objects)}
    for workload in workloads(objects):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert matches(workload["spec"]["selector"]["matchLabels"], labels)
    for service in (o for o in objects if o["kind"] == "Service"):
        selector = service["spec"]["selector"]
        selected = [t for t in pods.values() if matches(selector, t["metadata"]["labels"])]
        assert selected, f"Service {service['metadata']['name']} selects no pods"
        for template in selected:
            (container,) = template["spec"]["containers"]
            for port in service["spec"]["ports"]:
                _port(container, port["targetPort"], port.get("protocol", "TCP"))
    budgets = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    covered = set()
    for budget in budgets:
        selected_names = [
            n for n, t in pods.items()
            if matches(budget["spec"]["selector"]["matchLabels"], t["metadata"]["labels"])
        ]  # fmt: skip
        assert selected_names, f"PodDisruptionBudget {budget['metadata']['name']} selects nothing"
        covered.update(selected_names)
    # every workload that node drains evict has a budget (DaemonSet pods are not evicted by
    # kubectl drain; Redis is one replica that a budget would only block)
    for workload in workloads(objects):
        if workload["kind"] != "DaemonSet" and workload["metadata"]["name"] != "pywebrtc-redis":
            assert workload["metadata"]["name"] in covered


def test_containers_have_resource_requests_and_the_image_runs_the_programs(
    variant: tuple[str, list[Obj]],
) -> None:
    objects = _objects(variant)
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    for workload in workloads(objects):
        pod, container = _single_container(workload)
        requests = container["resources"]["requests"]
        assert {"cpu", "memory"} <= set(requests), workload["metadata"]["name"]
        assert "memory" in container["resources"]["limits"]
        assert "cpu" not in container["resources"].get("limits", {})  # no CPU throttling
        if container["image"].startswith("pywebrtc:"):
            words = container["command"]
            program = words[0] if words[0] != "/bin/sh" else shlex.split(words[2])[1]
            assert program in scripts
            assert pod["securityContext"]["runAsNonRoot"] is True


def test_dockerfile_is_debian_12_slim_and_copies_every_package() -> None:
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", dockerfile, re.M) == ["debian:12-slim", "debian:12-slim"]
    sources = [
        line.split()[1] for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from" not in line
    ]  # fmt: skip
    for source in sources:
        assert (REPO / source).exists(), source
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    for package in packages:
        assert package in sources, f"the image misses package {package}"
    assert re.search(r"^USER 10001", dockerfile, re.M)


def test_the_pre_stop_hook_drains_the_service_running_as_pid_1(tmp_path: Path) -> None:
    """In a container the service is PID 1, to which Linux delivers only the signals it has a
    handler for: run it so, in a PID namespace of its own, and run the preStop hook there."""
    unshare, nsenter = shutil.which("unshare"), shutil.which("nsenter")
    assert unshare and nsenter, "util-linux's unshare and nsenter are needed"
    port = free_port()
    script = f"exec {SCRIPT} --http 127.0.0.1:{port} --udp 127.0.0.1:0 --drain-timeout 30"
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        outer = subprocess.Popen(
            [unshare, "--pid", "--fork", "--mount-proc", "/bin/sh", "-c", script],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:  # until the service answers (it is PID 1 of the namespace by then)
            assert outer.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        children = Path(f"/proc/{outer.pid}/task/{outer.pid}/children").read_text().split()
        (service_pid,) = children
        status = Path(f"/proc/{service_pid}/status").read_text()
        assert re.search(r"^NSpid:\s+\d+\s+1$", status, re.M), "the service is not PID 1"
        hook = subprocess.run(
            [nsenter, "--target", service_pid, "--pid", "--mount", *PRE_STOP], timeout=30
        )
        # the hook's shell may be killed with PID 1 if the drain (no sessions) wins the race
        assert hook.returncode in (0, -signal.SIGKILL, 128 + signal.SIGKILL)
        assert outer.wait(timeout=40) == 0  # drained and exited 0, well within the grace
        assert "drained; exiting" in log.read_text()
    finally:
        if outer.poll() is None:
            outer.kill()
            outer.wait()
