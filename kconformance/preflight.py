"""Checks of the host made before any cluster is created, each failing with one line to act on."""

from __future__ import annotations

import shutil
from pathlib import Path

from kconformance import process
from kconformance.errors import CommandError, EnvironmentProblem

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


def check_image(image: str) -> None:
    try:
        process.run(["docker", "image", "inspect", "--format", "{{.Id}}", image], timeout=20)
    except CommandError:
        raise EnvironmentProblem(
            f"node image {image} is not in the local Docker: build it with hack/build.sh "
            "<release>, docker pull it, or pass --node-image"
        ) from None


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
