from __future__ import annotations

from kconformance.catalog import default_catalog
from kconformance.featurestate import live_feature_off_reason, parse_feature_metrics

METRICS = """# HELP kubernetes_feature_enabled [BETA] This metric records the data about the stage and enablement of a k8s feature.
kubernetes_feature_enabled{name="SidecarContainers",stage="ALPHA"} 1
kubernetes_feature_enabled{name="WatchList",stage="ALPHA"} 0
kubernetes_feature_enabled{name="PodIndexLabel",stage="BETA"} 1
"""


def test_parse_feature_metrics():
    assert parse_feature_metrics(METRICS) == {
        "SidecarContainers": True,
        "WatchList": False,
        "PodIndexLabel": True,
    }


def test_live_state_uses_metric_then_catalog():
    catalog = default_catalog()
    gates = parse_feature_metrics(METRICS)
    assert (
        live_feature_off_reason(catalog, "1.28", gates, catalog.features["SidecarContainers"])
        is None
    )
    assert "off in this cluster" in live_feature_off_reason(
        catalog, "1.28", gates, catalog.features["WatchList"]
    )
    # not in the metric and GA-removed by 1.36: on
    assert live_feature_off_reason(catalog, "1.36", {}, catalog.features["PodIndexLabel"]) is None
    assert "alpha (default off)" in live_feature_off_reason(
        catalog, "1.28", {}, catalog.features["CRDValidationRatcheting"]
    )


def test_kind_profiles_and_live_clusters_share_one_gate_rule(monkeypatch):
    """One function decides whether a gate is on, for profiles and for live clusters alike."""
    import kconformance.featurestate as featurestate
    import kconformance.profiles as profiles
    from kconformance.profiles import gate_enabled, resolve_profile

    calls = []

    def spy(catalog, gate_name, release, explicit):
        calls.append((gate_name, release, dict(explicit)))
        return True

    monkeypatch.setattr(profiles, "gate_on", spy)
    monkeypatch.setattr(featurestate, "gate_on", spy)
    catalog = default_catalog()
    profile = resolve_profile(catalog, "baseline", "1.28")
    assert gate_enabled(catalog, profile, "SidecarContainers") is True
    feature = catalog.features["SidecarContainers"]
    assert live_feature_off_reason(catalog, "1.28", {"X": False}, feature) is None
    assert calls == [
        ("SidecarContainers", "1.28", profile.gates),
        ("SidecarContainers", "1.28", {"X": False}),
    ]
