"""What an existing cluster can show: its release and which gates its apiserver has on.

The apiserver exports ``kubernetes_feature_enabled{name=...,stage=...}`` (1.26+); a gate missing
from it is judged from the catalog for the server's release (e.g. removed after GA means on).
"""

from __future__ import annotations

import re

from kconformance.catalog import Catalog, Feature, gate_on

_METRIC = re.compile(r"^kubernetes_feature_enabled\{([^}]*)\}\s+([0-9.eE+-]+)", re.MULTILINE)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def parse_feature_metrics(text: str) -> dict[str, bool]:
    gates: dict[str, bool] = {}
    for labels, value in _METRIC.findall(text):
        fields = dict(_LABEL.findall(labels))
        if "name" in fields:
            gates[fields["name"]] = float(value) == 1.0
    return gates


def live_feature_off_reason(
    catalog: Catalog, release: str, enabled: dict[str, bool], feature: Feature
) -> str | None:
    """None when the live cluster has the feature on; else why a test of it is skipped.

    Whether a gate is on is decided by catalog.gate_on, as for kind profiles; this only words
    the reason."""
    for gate_name in feature.gates:
        if gate_on(catalog, gate_name, release, enabled):
            continue
        if gate_name in enabled:
            return (
                f"{feature.name}: gate {gate_name} is off in this cluster "
                "(kubernetes_feature_enabled metric)"
            )
        stage = catalog.gates[gate_name].stages.get(release)
        if stage is None:
            return f"{feature.name}: release {release} is not in the catalog"
        return (
            f"{feature.name}: gate {gate_name} is not reported by the apiserver and is "
            f"{stage.label} in {release}"
        )
    return None
