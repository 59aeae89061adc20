"""sig-node: kubelet settings from the 1.28 release, read back and then made to show behaviour.

Swap (KEP-2400) and parallel image pulls (KEP-3673) are kubelet configuration; a profile puts
them in place and /configz proves the kubelet runs with them; the behaviour tests then watch what
the kubelet does with them (two pulls at once; the swap limit a container's cgroup gets).
Profiles that the kubelet would refuse are refused before any cluster is created (see
tests/test_profiles.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from kconformance.process import run
from kconformance.testing import Kube
from suites.sig_node.pods import a_node, kubelet_config, node_exec, phase_in, running, status_of
from suites.sig_node.registry import LocalRegistry, image_content

# How long the test registry holds the first pull's tag resolution at most while it waits for
# the second pull's (suites/sig_node/registry.py, LocalRegistry.hold_together). Parallel pulls
# release it as soon as the second arrives: the two pods are created together, and the gap
# between their pulls is the difference of their sandbox start-ups (0.02-0.9 s measured here
# under -n 4 load) - the cap is over twenty times that. Serialized pulls never release it: the
# first pull is held for the whole cap (its end is when the feature-off run fails), the second
# starts only after it. The cap must stay under containerd 2.x's 30 s ResponseHeaderTimeout
# (core/remotes/docker/registry.go, DefaultHTTPTransport; 1.36 nodes), or the held request fails
# the pull with ErrImagePull ("timeout awaiting response headers") instead of being answered.
HOLD_CAP = 20.0

_GO_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:([\d.]+)(ms|µs|us|ns|s))?")


def go_duration(text: str) -> float:
    """Seconds in a Go time.Duration string such as 4.01s, 812.5ms or 1m2.5s."""
    match = _GO_DURATION.fullmatch(text)
    assert match and text, f"not a Go duration: {text!r}"
    hours, minutes, value, unit = match.groups()
    scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    seconds = float(value) * scale[unit] if value else 0.0
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + seconds


@pytest.mark.feature("ParallelImagePulls")
def test_kubelet_runs_with_parallel_image_pulls(kube: Kube) -> None:
    """serializeImagePulls: false with maxParallelImagePulls: 2 - the kubelet accepted it."""
    config = kubelet_config(kube, a_node(kube))
    assert config["serializeImagePulls"] is False
    assert config["maxParallelImagePulls"] == 2


@pytest.fixture
def slow_registry(kube: Kube) -> Iterator[tuple[LocalRegistry, str]]:
    """A local registry listening on the node's 127.0.0.1 (see suites/sig_node/registry.py).

    containerd 1.6's CRI talks plain HTTP to a localhost registry by itself; containerd 2.x
    tries HTTPS first ("tls: first record does not look like a TLS handshake", seen on 1.36)
    unless a hosts.toml under its registry config_path names the plain-HTTP server, so the
    fixture writes one (and removes it after)."""
    node = a_node(kube)
    pid = int(run(["docker", "inspect", "-f", "{{.State.Pid}}", node], timeout=30).stdout)
    registry = LocalRegistry(pid).start()
    hosts_dir = f"/etc/containerd/certs.d/{registry.address}"
    hosts_toml = (
        f'server = "http://{registry.address}"\n'
        f'[host."http://{registry.address}"]\n'
        '  capabilities = ["pull", "resolve"]\n'
    )
    try:
        run(
            [
                "docker",
                "exec",
                "-i",
                node,
                "sh",
                "-c",
                f"mkdir -p {hosts_dir} && cat > {hosts_dir}/hosts.toml",
            ],
            input_text=hosts_toml,
            timeout=30,
        )
        yield registry, node
    finally:
        registry.stop()
        node_exec(node, "rm", "-rf", hosts_dir, check=False)


def _pull_failed(pod: dict[str, Any] | None) -> str | None:
    if not pod:
        return None
    for status in pod["status"].get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
            return f"{waiting['reason']}: {waiting.get('message')}"
    return None


_PULLED = re.compile(r" in (\S+) \((\S+) including waiting\)")


def _pulled(kube: Kube, pods: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """Per pod, (pull, pull including waiting) in seconds, from the kubelet's Pulled events.

    The kubelet records an event asynchronously (its event broadcaster), so a Running pod's
    Pulled event may not be stored yet: the events are watched until every pod has one."""

    def found(events: list[dict[str, Any]]) -> dict[str, str]:
        return {
            e["involvedObject"]["name"]: e["message"]
            for e in events
            if e.get("reason") == "Pulled" and (e.get("involvedObject") or {}).get("name") in pods
        }

    events = kube.wait_for(
        "Event",
        lambda events: set(found(events)) == set(pods),
        api_version="v1",
        timeout=60,
        description=f"Pulled events of {', '.join(pods)}",
    )
    durations = {}
    for pod, message in found(events).items():
        match = _PULLED.search(message)
        assert match, message
        durations[pod] = (go_duration(match.group(1)), go_duration(match.group(2)))
    return durations


@pytest.mark.kind_nodes
@pytest.mark.feature("ParallelImagePulls")
def test_two_images_are_pulled_at_the_same_time(
    kube: Kube, slow_registry: tuple[LocalRegistry, str]
) -> None:
    """KEP-3673: "maxParallelImagePulls ... the maximum number of image pulls in parallel".
    Two pods whose images only the test's registry has. The registry holds the tag resolution
    of each image until the other's has arrived too (at most HOLD_CAP, 20 s): with parallel
    pulls the second resolution arrives while the first is still held, so the registry sees both
    in flight at the same time however far apart the kubelet began them; the kubelet's Pulled
    events say each pull lasted at least its hold at the registry and neither waited for the
    other ("in 2.1s (2.1s including waiting)"). With serialized pulls (the default, e.g.
    --profile baseline) the second resolution cannot arrive while the first is held: the first
    is released by the cap and the test fails, about 20 s in, naming both spans."""
    registry, node = slow_registry
    # busybox's layers under an image ID of the test's own (see image_content)
    content = image_content(kube.image("busybox"), label=kube.namespace)
    names = ("pull-a", "pull-b")
    repositories = {n: f"kconformance/{n}" for n in names}
    refs = {n: f"{registry.add(repositories[n], content)}:{kube.namespace}" for n in names}
    registry.hold_together(list(repositories.values()), cap=HOLD_CAP)
    for name, ref in refs.items():
        kube.apply("sig_node/pull-from-registry.yaml", name=name, image=ref)
    for name in names:
        kube.wait_for(
            "Pod",
            lambda p: running(p, "main"),
            name=name,
            timeout=HOLD_CAP + 120,
            fail=_pull_failed,
        )
    held = {n: registry.tag_requests(repositories[n])[0] for n in names}
    first, second = sorted(names, key=lambda n: held[n].started)
    spans = {n: (round(r.started, 3), round(r.ended, 3)) for n, r in held.items()}
    assert held[first].started < held[second].ended and held[second].started < held[first].ended, (
        f"the two pulls did not overlap at the registry: {first}'s tag resolution was held "
        f"{held[first].ended - held[first].started:.1f} s (cap {HOLD_CAP:.0f} s) and {second}'s "
        f"arrived {held[second].started - held[first].ended:.2f} s after it was released - "
        f"one pull at a time (registry monotonic spans {spans})"
    )
    assert held[first].all_arrived, f"{first} released by the cap, not by {second}: {spans}"
    for name, (pull, including_waiting) in _pulled(kube, names).items():
        # the kubelet's pull time contains the registry's span (truncated to milliseconds)
        span = held[name].ended - held[name].started
        assert pull >= span - 0.001, (name, pull, spans)
        # parallel: a free slot for each pull, no wait; serialized, the second would wait out
        # the first's hold, which is the whole cap when the second never arrives
        assert including_waiting - pull < HOLD_CAP / 2, (name, pull, including_waiting)
    # The test's images stay until the cluster goes; their ID is their own (image_content), so
    # neither they nor the kubelet's pull records of them touch the node's busybox.


@pytest.mark.readback
@pytest.mark.feature("NodeSwap")
def test_kubelet_runs_with_limited_swap(kube: Kube) -> None:
    """NodeSwap with failSwapOn: false and memorySwap.swapBehavior: LimitedSwap: the kubelet
    starts (the node is Ready) and /configz shows both settings."""
    node = a_node(kube)
    config = kubelet_config(kube, node)
    assert config["failSwapOn"] is False
    assert config["memorySwap"]["swapBehavior"] == "LimitedSwap"
    ready = [c for c in kube.cluster.core.read_node(node).status.conditions if c.type == "Ready"]
    assert ready[0].status == "True"


@pytest.mark.feature("NodeSwap")
def test_limited_swap_gives_burstable_pods_swap(kube: Kube) -> None:
    """LimitedSwap lets Burstable pods use swap: their cgroup's memory.swap.max is a finite,
    positive number of bytes (the kubelet's share of the node's swap by memory request), never
    "max" (unlimited, UnlimitedSwap's value) nor 0. KEP-2400: "this feature is limited to
    cgroupv2 only" - the test skips, naming what is missing, when the node lacks cgroup v2 or
    swap; the cgroup v1 behaviour is the next test."""
    kube.apply("sig_node/swap-burstable.yaml")
    kube.wait_for("Pod", phase_in("Succeeded", "Failed"), name="swap-burstable", timeout=90)
    report = kube.cluster.core.read_namespaced_pod_log("swap-burstable", kube.namespace)
    values = dict(line.split("=", 1) for line in report.split() if "=" in line)
    if values.get("fs") != "cgroup2fs":
        pytest.skip(
            f"swap for pods needs cgroup v2 (KEP-2400); this node's /sys/fs/cgroup is {values.get('fs')} (cgroup v1)"
        )
    if "SwapTotal: 0 kB" in " ".join(report.split()):
        pytest.skip("swap for pods needs swap on the node; this node has none (SwapTotal 0 kB)")
    assert values["swapmax"].isdigit() and int(values["swapmax"]) > 0, report


@pytest.mark.kind_nodes
@pytest.mark.readback  # on cgroup v1 LimitedSwap means no swap: the same as swap off
@pytest.mark.feature("NodeSwap")
def test_limited_swap_on_cgroup_v1_gives_burstable_containers_no_swap(kube: Kube) -> None:
    """What LimitedSwap really does on this cgroup v1 host (1.28; 1.30+ refuse to start).
    The article: "LimitedSwap ... Burstable pods can use swap in proportion to their memory
    request". The 1.28 kubelet (kuberuntime_container_linux.go, ConfigureLimitedSwap) gives
    swap only on cgroup v2; on v1 it falls back to ConfigureNoSwap, which sets the container's
    memory+swap limit equal to its memory limit. Read in the node, in the container's own
    memory cgroup: memory.memsw.limit_in_bytes == memory.limit_in_bytes == 64 MiB, so not one
    byte of swap beyond the limit, and certainly not unlimited (9223372036854771712)."""
    node = a_node(kube)
    assert kubelet_config(kube, node)["memorySwap"]["swapBehavior"] == "LimitedSwap"
    kube.apply("sig_node/swap-burstable-running.yaml")
    pod = kube.wait_for(
        "Pod", lambda p: running(p, "main"), name="swap-burstable-running", timeout=90
    )
    assert pod["status"]["qosClass"] == "Burstable"
    cid = status_of(pod, "main")["containerID"].split("://", 1)[1]
    fs = node_exec(node, "stat", "-fc", "%T", "/sys/fs/cgroup/memory").stdout.strip()
    if fs != "cgroupfs":
        pytest.skip(f"this test reads cgroup v1 files; the node's memory cgroup is {fs}")
    found = node_exec(
        node, "find", "/sys/fs/cgroup/memory", "-type", "d", "-name", f"*{cid}*"
    ).stdout.split()
    assert len(found) == 1, found
    limit, memsw = (
        node_exec(node, "cat", f"{found[0]}/{name}").stdout.strip()
        for name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")
    )
    assert (limit, memsw) == (str(64 * 1024 * 1024), str(64 * 1024 * 1024)), found[0]
