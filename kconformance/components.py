"""Extra components of a profile (catalog ``components``): find their builds, stage them.

A component is a binary built by its own hack/ script (it is not in the node image) plus files
from ``kconformance/data/<files>``. The build script records the binary in
``$KCONFORMANCE_CACHE/releases/<release>-components.json``; before any container starts, a
profile whose component is not recorded there is refused with the command that builds it, where
hack/build.sh built the release (it builds every ``when_missing: refuse`` component, so one
missing is a broken build); elsewhere - kind's published node images, no hack/ build at all -
and for a component built apart (``when_missing: skip``) the profile's tests skip naming it. When
the cluster is created, the binary and the rendered files are copied into one host directory per
cluster, which the kind config mounts into the control-plane node (kindconfig.py).
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

from kconformance.artifacts import built_releases, cache_dir
from kconformance.catalog import Catalog
from kconformance.errors import EnvironmentProblem
from kconformance.profiles import Profile


def built_components(release: str, root: Path | None = None) -> dict[str, Path]:
    """The component binaries built for ``release``, by component name."""
    record = (root or cache_dir()) / "releases" / f"{release}-components.json"
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return {}
    return {
        name: Path(entry["path"])
        for name, entry in data.items()
        if isinstance(entry, dict) and entry.get("path")
    }


def _missing(profile: Profile, root: Path | None) -> list[str]:
    built = built_components(profile.release, root)
    return [
        name
        for name, _static_pod in profile.components
        if name not in built or not built[name].is_file()
    ]


def _refused(catalog: Catalog, name: str, release: str, root: Path | None) -> bool:
    """A missing component refuses the run only where hack/build.sh, which builds it, built
    the release."""
    return catalog.components[name].when_missing == "refuse" and release in built_releases(root)


def skip_reason(catalog: Catalog, profile: Profile, root: Path | None = None) -> str | None:
    """Why tests on ``profile`` are skipped: a component was not built, and is built apart or
    the release's node image was not built here."""
    for name in _missing(profile, root):
        if _refused(catalog, name, profile.release, root):
            continue
        component = catalog.components[name]
        where = (
            "it is not part of hack/build.sh"
            if component.when_missing == "skip"
            else f"hack/build.sh did not build {profile.release} here"
        )
        return (
            f"profile {profile.name!r} runs the {name} component ({component.description}), "
            f"not built here: run {component.build} {profile.release} ({where})"
        )
    return None


def check_components(catalog: Catalog, profile: Profile, root: Path | None = None) -> None:
    """Refuse a profile whose components were not built, naming the script that builds them.

    The others are left to skip_reason (their tests skip): ``when_missing: skip`` components,
    and any component of a release hack/build.sh did not build here.

    Raises:
        EnvironmentProblem: a component's binary is not recorded or no longer exists.
    """
    for name in _missing(profile, root):
        script = catalog.components[name].build
        if not _refused(catalog, name, profile.release, root):
            continue
        raise EnvironmentProblem(
            f"profile {profile.name!r} on Kubernetes {profile.release} runs the {name} "
            f"component, which was not built here: run {script} {profile.release} "
            "(or deselect its tests)"
        )


def stage(catalog: Catalog, profile: Profile, dest: Path, root: Path | None = None) -> Path:
    """Copy each component's binary and rendered files into ``dest/<component>/``.

    Returns:
        ``dest``, the directory the kind config mounts from.
    """
    missing = _missing(profile, root)
    if missing:
        raise EnvironmentProblem(f"cannot stage {', '.join(missing)}: not built")
    built = built_components(profile.release, root)
    for name, _static_pod in profile.components:
        component = catalog.components[name]
        target = dest / name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built[name], target / built[name].name)
        templates = resources.files("kconformance").joinpath("data", component.files)
        for template in templates.iterdir():
            text = template.read_text("utf-8")
            text = text.replace("{{kubernetes_version}}", profile.kubernetes_version)
            gates = ",".join(
                f"{k}={str(v).lower()}"
                for k, v in sorted(profile.gates_for("cloud-controller-manager").items())
            )
            text = text.replace("{{feature_gates}}", gates)
            (target / template.name).write_text(text)
    return dest
