"""A broken manifest names its file and the field (or line) at fault."""

from __future__ import annotations

import pytest

from kconformance.errors import ManifestError
from kconformance.manifests import ManifestSet


@pytest.fixture
def manifests(tmp_path):
    (tmp_path / "sig").mkdir()
    return ManifestSet(tmp_path, {"busybox": "mirror.local/busybox:1"})


def write(manifests, name, text):
    (manifests.root / "sig" / name).write_text(text)
    return f"sig/{name}"


def test_placeholders_and_images_are_filled(manifests):
    path = write(
        manifests,
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: '{{name}}', namespace: '{{namespace}}'}\nspec: {containers: [{name: c, image: '{{image.busybox}}'}]}\n",
    )
    (pod,) = manifests.render(path, name="p1", namespace="ns1")
    assert pod["metadata"] == {"name": "p1", "namespace": "ns1"}
    assert pod["spec"]["containers"][0]["image"] == "mirror.local/busybox:1"


def test_missing_value_names_file_line_and_placeholder(manifests):
    path = write(
        manifests, "job.yaml", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: '{{name}}'\n"
    )
    with pytest.raises(
        ManifestError, match=r"sig/job.yaml:4: placeholder \{\{name\}\} has no value"
    ):
        manifests.render(path)


def test_missing_name_field_is_named(manifests):
    path = write(
        manifests,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n",
    )
    with pytest.raises(
        ManifestError, match=r"sig/cm.yaml \(document 1\): missing field metadata.name"
    ):
        manifests.render(path)


def test_invalid_yaml_names_the_line(manifests):
    path = write(
        manifests, "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: [\n"
    )
    with pytest.raises(ManifestError, match=r"sig/bad.yaml:\d+: not valid YAML"):
        manifests.render(path)


def test_unknown_file(manifests):
    with pytest.raises(ManifestError, match="manifest sig/nope.yaml not found"):
        manifests.render("sig/nope.yaml")


def test_dropped_paths_names_fields_the_server_left_out():
    from kconformance.manifests import dropped_paths

    sent = {
        "spec": {
            "backoffLimitPerIndex": 1,
            "template": {"spec": {"initContainers": [{"name": "s", "restartPolicy": "Always"}]}},
            "emptyDir": {},
        },
        "status": {"ignored": True},
    }
    stored = {
        "spec": {"template": {"spec": {"initContainers": [{"name": "s", "image": "x"}]}}},
        "status": {},
    }
    assert dropped_paths(sent, stored) == [
        "spec.backoffLimitPerIndex",
        "spec.template.spec.initContainers[0].restartPolicy",
    ]
    assert dropped_paths(sent["spec"]["template"], sent["spec"]["template"]) == []
