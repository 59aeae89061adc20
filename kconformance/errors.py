"""Typed errors whose message alone tells the user what failed, why, and what to do."""

from __future__ import annotations

from collections.abc import Sequence


class KconformanceError(Exception):
    """Base class: every error the tool raises on purpose. Its str() is one actionable line."""


class CatalogError(KconformanceError):
    """The feature catalog, a feature() marker or a release name is wrong."""


class ConfigError(KconformanceError):
    """A command-line input (catalog, kubeconfig, context, manifests dir, image map) is unusable."""


class ProfileError(KconformanceError):
    """A cluster profile would not start; raised before any container is created."""


class ManifestError(KconformanceError):
    """A manifest file cannot be read, rendered or applied; names the file and the field."""


class ClusterError(KconformanceError):
    """A cluster could not be created, reached or deleted."""


class EnvironmentProblem(KconformanceError):
    """The host lacks something (Docker, kind, a node image, inotify headroom)."""


class WaitTimeout(KconformanceError, AssertionError):
    """A wait ran out of time; the message carries the last state seen."""


class WaitStopped(KconformanceError, AssertionError):
    """A wait ended early: its object reached a state it cannot leave without the predicate
    holding there (a Failed pod, a stuck container, a Failed Job, a test's own ``fail=``)."""


class CommandError(KconformanceError):
    """A subprocess failed. The message is the pasteable command plus the tail of its output."""

    def __init__(self, argv: Sequence[str], returncode: int, output: str, tail_lines: int = 30):
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output
        lines = output.rstrip().splitlines()
        # kind and kubeadm print the reason on an ERROR line, then a Go stack: lead with it
        headline = [
            line for line in lines if line.lstrip().startswith(("ERROR", "error", "Error"))
        ][:5]
        tail = "\n".join(lines[-tail_lines:])
        command = " ".join(_quote(a) for a in argv)
        said = ("\n".join(headline) + "\n...\n") if headline else ""
        super().__init__(f"command failed (exit {returncode}): {command}\n{said}{tail}")


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
