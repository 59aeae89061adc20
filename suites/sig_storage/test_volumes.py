"""sig-storage: PV lastPhaseTransitionTime (KEP-3762), retroactive default StorageClass
(KEP-3333)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from kconformance.testing import Kube

DEFAULT = "storageclass.kubernetes.io/is-default-class"


def _phase(phase: str):
    return lambda pv: bool(pv) and pv.get("status", {}).get("phase") == phase


def _transition_time(pv: dict) -> datetime:
    value = pv["status"].get("lastPhaseTransitionTime")
    assert value, f"PV {pv['metadata']['name']} is {pv['status'].get('phase')} without a time"
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _next_second() -> datetime:
    """Wait for the wall clock to enter a new second, and return that second.

    lastPhaseTransitionTime has one-second precision: only a transition made in a later second
    than the previous one can show that the field was set again rather than once. This waits on
    the clock (kind nodes share this host's), not on the cluster.
    """
    now = time.time()
    time.sleep(math.ceil(now) - now + 0.01)
    return datetime.fromtimestamp(math.floor(time.time()), tz=UTC)


@pytest.mark.feature("PersistentVolumeLastPhaseTransitionTime")
def test_pv_records_each_phase_transition(kube: Kube) -> None:
    """status.lastPhaseTransitionTime is set when the PV becomes Available, and set again at
    Bound and at Released (Retain): each transition is made in a later second than the one
    before, and each recorded time lies between the request that caused it and the moment the
    new phase was seen - so a time set once, or copied, fails."""
    name, klass = f"{kube.namespace}-pv", f"{kube.namespace}-manual"
    kube.apply("sig_storage/pv.yaml", name=name, **{"class": klass})
    available = kube.wait_for("PersistentVolume", _phase("Available"), name=name, timeout=60)
    t_available = _transition_time(available)

    asked = _next_second()
    kube.apply("sig_storage/pvc.yaml", name="claim", class_line=f"storageClassName: {klass}")
    bound = kube.wait_for("PersistentVolume", _phase("Bound"), name=name, timeout=90)
    t_bound = _transition_time(bound)
    assert t_available < asked <= t_bound <= datetime.now(UTC), (t_available, t_bound)

    asked = _next_second()
    kube.delete("PersistentVolumeClaim", "claim")
    released = kube.wait_for("PersistentVolume", _phase("Released"), name=name, timeout=90)
    t_released = _transition_time(released)
    assert t_bound < asked <= t_released <= datetime.now(UTC), (t_bound, t_released)


PROBES = 5


def _about(name: str):
    return lambda events: any(e["involvedObject"].get("name") == name for e in events)


def _controller_sees_no_default(kube: Kube) -> None:
    """Return once the PV controller itself has seen that no default StorageClass is left.

    The controller reads classes from its own informer. A claim it syncs before that informer
    has the annotation change gets the old default for good (the class is immutable once set),
    which under load made the retroactive test wait in vain. A probe claim without class shows
    what the controller sees: "no storage class is set" (FailedBinding) means the change
    reached it; a probe that got a class was synced too early, and a new one is tried.
    """
    for attempt in range(PROBES):
        probe = f"probe-{attempt}"
        kube.apply("sig_storage/pvc.yaml", name=probe, class_line="")
        kube.wait_for("Event", _about(probe), api_version="v1", timeout=60)
        claim = kube.get("PersistentVolumeClaim", probe)
        if claim and claim["spec"].get("storageClassName") is None:
            return
    raise AssertionError(f"the PV controller still assigned a default class after {PROBES} probes")


@pytest.fixture
def no_default_storage_class(kube: Kube) -> Iterator[list[str]]:
    """Take the default annotation off every StorageClass for the test (kube puts it back), and
    wait until the PV controller has seen it."""
    defaults = [
        sc["metadata"]["name"]
        for sc in kube.list("StorageClass", api_version="storage.k8s.io/v1")
        if (sc["metadata"].get("annotations") or {}).get(DEFAULT) == "true"
    ]
    for name in defaults:
        kube.set_annotation("StorageClass", name, DEFAULT, "false", "storage.k8s.io/v1")
    _controller_sees_no_default(kube)
    yield defaults


def _other_class(wanted: str):
    def check(claim: dict | None) -> str | None:
        got = (claim or {}).get("spec", {}).get("storageClassName")
        return (
            f"the claim got class {got!r}, which cannot change"
            if got not in (None, wanted)
            else None
        )

    return check


@pytest.mark.feature("RetroactiveDefaultStorageClass")
def test_claim_without_class_gets_the_default_created_later(
    kube: Kube, no_default_storage_class
) -> None:
    """A PVC created while no default StorageClass exists keeps storageClassName unset (not "");
    when a default StorageClass appears, the PV controller sets the claim's class to it."""
    (claim,) = kube.apply("sig_storage/pvc.yaml", name="late-class", class_line="")
    assert claim["spec"].get("storageClassName") is None

    klass = f"{kube.namespace}-default"
    kube.apply("sig_storage/default-storageclass.yaml", name=klass)
    updated = kube.wait_for(
        "PersistentVolumeClaim",
        lambda c: bool(c) and c["spec"].get("storageClassName") == klass,
        name="late-class",
        timeout=120,
        fail=_other_class(klass),
    )
    assert updated["spec"]["storageClassName"] == klass
