"""Checks of the host made before any cluster is created, each failing with one line to act on."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from kconformance import process
from kconformance.catalog import Release
from kconformance.errors import CommandError, EnvironmentProblem
from kconformance.kind import KindCLI

# kind's documented failure ("too many open files") starts past about three clusters at the
# default inotify limits; its known-issues page gives these values.
_INOTIFY_NEEDED = {"max_user_watches": 524288, "max_user_instances": 512}


def find_binary(name: str, explicit: str | None, built: str | None) -> str:
    """Pick a binary: explicit option first, then what hack/build.sh built, then PATH."""
    for candidate in (explicit, built):
        if candidate:
            if Path(candidate).is_file():
                return candidate
            if explicit and candidate == explicit:
                raise EnvironmentProblem(f"{name} binary {candidate} does not exist")
    found = shutil.which(name)
    if found:
        return found
    raise EnvironmentProblem(
        f"{name} not found: run hack/build.sh to build it, put it on PATH, or pass --{name}-bin"
    )


def check_docker() -> None:
    try:
        process.run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20)
    except CommandError as exc:
        said = (exc.output.strip().splitlines() or [""])[-1]
        raise EnvironmentProblem(
            f"Docker is not reachable (docker info: {said}): start it with hack/setup-docker.sh "
            "or your service manager"
        ) from None


def image_is_local(image: str) -> bool:
    """Whether the local Docker has ``image``: the pre-flight pulls a node image that is not,
    and the kind driver loads only local images into a new cluster (nodes pull the others)."""
    try:
        process.run(["docker", "image", "inspect", "--format", "{{.Id}}", image], timeout=30)
    except CommandError:
        return False
    return True


def _last_words(output: str) -> str:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def ensure_image(
    image: str, release: str, say: Callable[[str], None], timeout: float = 900
) -> None:
    """A node image that is not local is pulled, as kind would, but with a line before and
    after and a timeout, so a slow or impossible pull says so instead of hanging in kind."""
    if image_is_local(image):
        return
    say(f"node image {image} is not local: docker pull (up to {timeout:.0f}s)")
    started = time.monotonic()
    try:
        process.run(["docker", "pull", image], timeout=timeout)
    except CommandError as exc:
        raise EnvironmentProblem(
            f"node image {image} is not local and docker pull failed "
            f"({_last_words(exc.output)}): build it with hack/build.sh {release}, pull it "
            "where a registry is reachable, or pass --node-image"
        ) from None
    say(f"node image {image} pulled in {time.monotonic() - started:.1f}s")


_KIND_VERSION = re.compile(r"\bv\d+\.\d+\.\d+")


def _image_name(image: str) -> str:
    return image.split("@", 1)[0]  # kind publishes images pinned by digest too


def check_kind_version(kind: KindCLI, release: Release, image: str) -> None:
    """kind supports a node image only with the kind release it was published for: refuse a
    mismatch before creating anything. Images the catalog does not pair are not judged."""
    if not release.kind or not release.node_image:
        return
    if _image_name(image) != _image_name(release.node_image):
        return
    try:
        said = kind.version()
    except CommandError as exc:
        raise EnvironmentProblem(
            f"{kind.binary} version failed ({_last_words(exc.output)}): pass a working kind "
            "with --kind-bin"
        ) from None
    match = _KIND_VERSION.search(said)
    if match is None or match.group(0) != release.kind:
        found = match.group(0) if match else said.strip()[:80]
        raise EnvironmentProblem(
            f"kind {found} ({kind.binary}) is not the kind {release.kind} the catalog pairs "
            f"with {image} for Kubernetes {release.name}: install it (go install "
            f"sigs.k8s.io/kind@{release.kind}) and pass --kind-bin, or run hack/build.sh "
            f"{release.name}"
        )


def inotify_advice(nodes: int, proc_root: Path = Path("/proc/sys/fs/inotify")) -> str | None:
    """Say what to raise when several kind nodes would exceed the host's inotify limits."""
    if nodes < 2:
        return None
    low = []
    for key, needed in _INOTIFY_NEEDED.items():
        try:
            value = int((proc_root / key).read_text().strip())
        except (OSError, ValueError):
            continue
        if value < needed:
            low.append(f"sysctl -w fs.inotify.{key}={needed} (now {value})")
    if not low:
        return None
    return (
        f"{nodes} kind nodes may fail with 'too many open files' at these inotify "
        "limits; raise them: " + "; ".join(low)
    )
