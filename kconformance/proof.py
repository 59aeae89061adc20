"""Feature-off proof: every test also runs where its feature is off, and must fail there.

A conformance verdict is only worth something if the test could have failed. ``--prove`` adds,
for each test of a catalog feature, a second run on the profile where that feature is off
(``profiles.resolve_off_profile``: the release as shipped, or the feature's own profile without
it). There the outcome is inverted: a test that fails has proved its feature ("proved"); one that
still passes is reported as "does not prove <feature>" and fails the run.

Only a failure of the test body counts as proof. A cluster that did not start, or an API that
stayed unreachable, says nothing about the feature and stays an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _pytest.mark.structures import ParameterSet

from kconformance.errors import ClusterError, EnvironmentProblem

PROOF_MARK = "kconformance_proof"

# user_properties a proof item carries, read by the report on the controller
MODE_PROPERTY = "mode"
PROOF_PROPERTY = "proof"
PROVED = "proved"
NOT_PROVED = "not proved"
NO_EVIDENCE = "error"


def provable(definition: pytest.Function) -> bool:
    """Whether a test gets a feature-off run: it names a feature and does not already run off."""
    marker = definition.get_closest_marker("feature")
    return bool(marker and marker.args and not marker.kwargs.get("off", False))


def proof_param(release: str) -> ParameterSet:
    """The ``k8s_release`` value of a feature-off run: same release, its own id and mark."""
    return pytest.param(release, id=f"{release}-off", marks=getattr(pytest.mark, PROOF_MARK))


def is_proof_item(item: pytest.Item) -> bool:
    return item.get_closest_marker(PROOF_MARK) is not None


# A container that cannot get its image says something about the node, never about a feature.
_IMAGE_TROUBLE = ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName")


def counts_as_feature_off(exc: BaseException) -> bool:
    """A failure that can be blamed on the feature being off: not infrastructure trouble."""
    from kconformance.transient import is_transient  # imports kubernetes: only once a test failed

    if isinstance(exc, (ClusterError, EnvironmentProblem)):
        return False
    if any(reason in str(exc) for reason in _IMAGE_TROUBLE):
        return False
    return not is_transient(exc)


def _first_line(text: str, limit: int = 300) -> str:
    line = next((part for part in text.splitlines() if part.strip()), "")
    return line[:limit]


class ProofVerdicts:
    """Inverts the call outcome of feature-off runs. Registered where tests run (every worker).

    ``trylast`` makes this the innermost report wrapper, so the diagnostics wrapper in
    ``plugin.py`` sees the inverted outcome: no dump for a test that failed as it should, a full
    dump for one that passed where it must not.
    """

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Iterator[Any]:
        report: pytest.TestReport = yield
        if not is_proof_item(item) or report.when != "call" or report.skipped:
            return report
        props = dict(item.user_properties)
        feature, profile = props.get("feature", "?"), props.get("profile", "?")
        exc = call.excinfo.value if call.excinfo else None
        if report.failed and exc is not None and counts_as_feature_off(exc):
            report.outcome = "passed"
            report.longrepr = None
            report.sections.append(
                (
                    "kconformance proof",
                    f"failed as it must with {feature} off (profile {profile}): "
                    f"{type(exc).__name__}: {_first_line(str(exc))}",
                )
            )
            report.user_properties.append((PROOF_PROPERTY, PROVED))
        elif report.failed:
            report.user_properties.append((PROOF_PROPERTY, NO_EVIDENCE))
        else:
            report.outcome = "failed"
            report.longrepr = (
                f"does not prove {feature}: the test passed on profile {profile!r}, where "
                f"{feature} is off - it would pass whether or not the feature works"
            )
            report.user_properties.append((PROOF_PROPERTY, NOT_PROVED))
        return report
