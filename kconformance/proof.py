"""Feature-off proof: every test also runs where its feature is off, and must fail there.

A conformance verdict is only worth something if the test could have failed. ``--prove`` adds,
for each test of a catalog feature, a second run on the profile where that feature is off
(``offprofiles.resolve_off_profile``: the feature's own profile with its gate still on in the
kube-apiserver, so the API accepts its fields, and off in the components of the catalog's
``behaviour_in``; a behaviour of the kube-apiserver itself is off there too). There the outcome is
inverted: a test that fails has proved its feature ("proved"); one that still passes is reported
as "does not prove <feature>" and fails the run.

Only a failure on the behaviour counts as proof, and which failure that was is decided by the
exception's type, never by its message (``classify``):

- ``proved``: an assertion of the test, or a wait on the behaviour (``WaitTimeout``,
  ``WaitStopped``), failed;
- ``gated at API``: the API server dropped a field, refused the object or does not serve its
  kind. That shows the field is gated, not that the test would see the behaviour missing:
  reported with its reason, not counted, and the run goes on;
- ``configured``: a ``readback`` test, which reads back what the profile set: never a proof;
- ``no evidence``: anything else (KeyError, IndexError, TypeError, a 4xx, ``pytest.fail``, a
  setup failure): the test fails with "proof inconclusive" and the reason.

A cluster that did not start, an image that could not be pulled, or an API that stayed
unreachable says nothing about the feature and stays an error. Every outcome keeps its reason
in the ``proof_reason`` property (JUnit, report JSON).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _pytest.mark.structures import ParameterSet

from kconformance.errors import ClusterError, EnvironmentProblem, WaitStopped, WaitTimeout

PROOF_MARK = "kconformance_proof"

# user_properties a proof item carries, read by the report on the controller
MODE_PROPERTY = "mode"
PROOF_PROPERTY = "proof"
REASON_PROPERTY = "proof_reason"
PROVED = "proved"
GATED = "gated at API"
CONFIGURED = "configured"
NO_EVIDENCE = "no evidence"
NOT_PROVED = "not proved"
INFRASTRUCTURE = "error"  # the cluster or the machine failed: says nothing either way


def provable(definition: pytest.Function) -> bool:
    """Whether a test gets a feature-off run: it names a feature, does not already run off, and
    does not say why its check cannot fail with the feature off (``unprovable="why"``: e.g.
    validation that lives in the kube-apiserver while the proof switches off the controller)."""
    marker = definition.get_closest_marker("feature")
    if not (marker and marker.args) or marker.kwargs.get("off", False):
        return False
    return not marker.kwargs.get("unprovable")


def proof_param(release: str) -> ParameterSet:
    """The ``k8s_release`` value of a feature-off run: same release, its own id and mark."""
    return pytest.param(release, id=f"{release}-off", marks=getattr(pytest.mark, PROOF_MARK))


def is_proof_item(item: pytest.Item) -> bool:
    return item.get_closest_marker(PROOF_MARK) is not None


# A container that cannot get its image says something about the node, never about a feature.
_IMAGE_TROUBLE = ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName")


def _infrastructure(exc: BaseException) -> bool:
    from kconformance.transient import is_transient  # imports kubernetes: only once a test failed

    if isinstance(exc, (ClusterError, EnvironmentProblem)):
        return True
    if any(reason in str(exc) for reason in _IMAGE_TROUBLE):
        return True
    return is_transient(exc)


def classify(exc: BaseException, readback: bool = False) -> str:
    """The proof outcome of a feature-off run whose body raised ``exc`` (see the module doc)."""
    from kconformance.manifests import ApiRejection, FieldsDropped, NotServed

    if _infrastructure(exc):
        return INFRASTRUCTURE
    if isinstance(exc, (FieldsDropped, ApiRejection, NotServed)):
        return GATED
    if readback:
        return CONFIGURED
    if isinstance(exc, (WaitTimeout, WaitStopped)) or type(exc) is AssertionError:
        return PROVED
    return NO_EVIDENCE


def _first_line(text: str, limit: int = 300) -> str:
    line = next((part for part in text.splitlines() if part.strip()), "")
    return line[:limit]


def reason_of(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_first_line(str(exc))}"


class ProofVerdicts:
    """Turns the call outcome of feature-off runs into a proof outcome. Registered where tests
    run (every worker).

    ``trylast`` makes this the innermost report wrapper, so the diagnostics wrapper in
    ``plugin.py`` sees the new outcome: no dump for a test that failed as it should, a full
    dump for one that passed where it must not or gave no evidence.
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
        if report.failed and exc is not None:
            outcome = classify(exc, readback=item.get_closest_marker("readback") is not None)
            reason = reason_of(exc)
        elif report.failed:
            outcome, reason = NO_EVIDENCE, "failed without an exception"
        else:
            outcome, reason = NOT_PROVED, f"the test passed with {feature} off"
        outcome_properties = [(PROOF_PROPERTY, outcome), (REASON_PROPERTY, reason)]
        report.user_properties.extend(outcome_properties)  # the run's report reads this one
        # junitxml writes the properties of the teardown report, which pytest builds from a
        # copy of the item's: without this the JUnit file would not carry the outcome
        item.user_properties.extend(outcome_properties)
        if outcome in (PROVED, GATED, CONFIGURED):
            report.outcome = "passed"
            report.longrepr = None
            report.sections.append(
                (
                    "kconformance proof",
                    f"{outcome} with {feature} off (profile {profile}): {reason}",
                )
            )
        elif outcome == NOT_PROVED:
            report.outcome = "failed"
            report.longrepr = (
                f"does not prove {feature}: the test passed on profile {profile!r}, where "
                f"{feature} is off - it would pass whether or not the feature works"
            )
        elif outcome == NO_EVIDENCE:
            report.longrepr = (
                f"proof inconclusive for {feature} (profile {profile!r}): the test failed, but "
                f"not on an assertion or a wait on the behaviour - {reason}\n\n{report.longrepr}"
            )
        return report
