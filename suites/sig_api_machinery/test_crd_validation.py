"""sig-api-machinery: CRD validation ratcheting (KEP-4008) and CEL validation rules (KEP-2876)."""

from __future__ import annotations

import itertools

import pytest
import yaml

from kconformance.process import run
from kconformance.testing import ApiRejection, Kube, has_condition
from suites.sig_api_machinery.apis import NotYet, expect_rejection, group_for, until_in_effect


def _crd(kube: Kube, manifest: str, **values) -> str:
    (crd,) = kube.apply(manifest, group=group_for(kube), **values)
    name = crd["metadata"]["name"]
    kube.wait_for(
        "CustomResourceDefinition", lambda c: has_condition(c, "Established"), name=name, timeout=60
    )
    return name


def _cr(kube: Kube, field_a: str, field_b: str | None = None):
    return lambda: kube.apply(
        "sig_api_machinery/ratcheting-cr.yaml",
        group=group_for(kube),
        fieldA=field_a,
        fieldB=f"fieldB: {field_b}" if field_b else "",
    )


def _tighten(kube: Kube, rules: str) -> None:
    """Add validation to fieldA, then wait until new objects are checked against it."""
    _crd(kube, "sig_api_machinery/ratcheting-crd.yaml", fieldA_rules=rules)
    probe = kube.render(
        "sig_api_machinery/ratcheting-cr.yaml", group=group_for(kube), fieldA="", fieldB=""
    )
    attempts = itertools.count()

    def probe_is_refused() -> object:
        # a new name each time: a probe admitted before the schema took effect would otherwise
        # be updated, unchanged, on the next attempt - and ratcheting admits that forever
        probe[0]["metadata"]["name"] = f"probe-{next(attempts)}"
        refused = expect_rejection(lambda: kube.apply_objects(probe))
        if refused.code != 422 or "fieldA" not in refused.cause_fields():
            raise NotYet(f"refused, but not by fieldA's new validation: {refused}")
        return refused

    until_in_effect(probe_is_refused)


def _ratcheting_scenario(kube: Kube, rules: str) -> None:
    _crd(kube, "sig_api_machinery/ratcheting-crd.yaml", fieldA_rules="")
    _cr(kube, "")()
    _tighten(kube, rules)


@pytest.mark.feature("CRDValidationRatcheting")
def test_unchanged_invalid_field_is_ratcheted(kube: Kube) -> None:
    """The article's scenario: fieldA: "" was valid; the schema gains minLength: 2. "As long as
    you don't modify the fields with new validation rules" updates succeed: adding fieldB is
    accepted while fieldA stays "", and changing fieldA to another invalid value is refused."""
    _ratcheting_scenario(kube, "minLength: 2")

    try:
        (updated,) = _cr(kube, "", "new field value")()
    except ApiRejection as refused:
        raise AssertionError(
            f"the update leaving fieldA unchanged was refused: {refused}"
        ) from None
    assert updated["fieldA"] == "" and updated["fieldB"] == "new field value"

    with pytest.raises(ApiRejection) as rejected:
        _cr(kube, "x", "new field value")()
    assert rejected.value.code == 422
    assert "fieldA" in rejected.value.cause_fields()


@pytest.mark.feature("CRDValidationRatcheting", off=True)
def test_without_ratcheting_the_same_update_is_refused(kube: Kube) -> None:
    """With the feature off (1.28 without the gate), the article's fieldB update is refused
    because the untouched fieldA "" now violates minLength: 2 - the pain the KEP removes."""
    _ratcheting_scenario(kube, "minLength: 2")
    with pytest.raises(ApiRejection) as rejected:
        _cr(kube, "", "new field value")()
    assert "fieldA" in rejected.value.cause_fields()


@pytest.mark.feature("CRDValidationRatcheting")
def test_cel_rule_ratcheting(kube: Kube) -> None:
    """Ratcheting of a CEL rule (x-kubernetes-validations) on an unchanged field, next to an
    OpenAPI constraint (minLength: 2) on the same field.

    What the cluster does: from 1.30 (KEP-4008 beta) an unchanged value that violates a new CEL
    rule is ratcheted like an OpenAPI constraint, so the update is accepted. 1.28's alpha
    ratchets OpenAPI schema validations only: the update is refused by the CEL rule alone -
    the minLength error is ratcheted away (with the feature off it is reported too).
    """
    _ratcheting_scenario(
        kube,
        "minLength: 2\n            x-kubernetes-validations: "
        '[{rule: "self.size() >= 2", message: "fieldA too short"}]',
    )
    update = _cr(kube, "", "new field value")
    if kube.release == "1.28":
        with pytest.raises(ApiRejection) as rejected:
            update()
        assert "fieldA too short" in rejected.value.message
        assert "should be at least 2 chars long" not in rejected.value.message, (
            rejected.value.message
        )
    else:
        (updated,) = update()
        assert updated["fieldB"] == "new field value"


@pytest.mark.feature("CustomResourceValidationExpressions")
def test_cel_rule_rejection_carries_reason_field_path_and_message(kube: Kube) -> None:
    """x-kubernetes-validations with rule, message, reason (FieldValueForbidden) and fieldPath
    (.minReplicas): the 422 cause carries that reason, the field spec.minReplicas and the
    message; a messageExpression builds its message from the object."""
    _crd(kube, "sig_api_machinery/cel-crd.yaml")
    scaler = "sig_api_machinery/scaler.yaml"
    until_in_effect(lambda: kube.apply(scaler, group=group_for(kube), name="ok", min=1, max=3))

    with pytest.raises(ApiRejection) as rejected:
        kube.apply(scaler, group=group_for(kube), name="inverted", min=5, max=3)
    (cause,) = rejected.value.causes
    assert cause["reason"] == "FieldValueForbidden"
    assert cause["field"] == "spec.minReplicas"
    assert "minReplicas cannot be larger than maxReplicas" in cause["message"]

    with pytest.raises(ApiRejection) as rejected:
        kube.apply(scaler, group=group_for(kube), name="huge", min=1, max=200)
    assert "maxReplicas of huge is above the limit of 100" in rejected.value.message


@pytest.mark.feature("CustomResourceValidationExpressions")
def test_article_crd_as_printed(kube: Kube) -> None:
    """The article writes `x-kubernetes-validator` with rule `minReplicas <= maxReplicas`.

    What the API server does with it: kubectl's strict field validation refuses the unknown
    field x-kubernetes-validator by name; spelled x-kubernetes-validations, the rule still does
    not compile, because fields are reached through `self` - the CRD is refused with
    "undeclared reference to 'minReplicas'". The corrected CRD is tested above.
    """
    group = group_for(kube)
    (as_printed,) = kube.render(
        "sig_api_machinery/cel-crd-article.yaml",
        group=group,
        validations_key="x-kubernetes-validator",
    )
    result = run(
        [*kube.cluster.kubectl_argv, "create", "--validate=strict", "-f", "-"],
        input_text=yaml.safe_dump(as_printed),
        check=False,
    )
    assert result.returncode != 0
    assert (
        'unknown field "spec.versions[0].schema.openAPIV3Schema.properties.spec.x-kubernetes-validator"'
        in result.stdout
    )

    (fixed_key,) = kube.render(
        "sig_api_machinery/cel-crd-article.yaml",
        group=group,
        validations_key="x-kubernetes-validations",
    )
    with pytest.raises(ApiRejection) as rejected:
        kube.apply_objects([fixed_key])
    assert "undeclared reference to 'minReplicas'" in rejected.value.message


@pytest.mark.feature("CustomResourceValidationExpressions")
def test_rule_with_unbounded_cost_is_refused_at_creation(kube: Kube) -> None:
    """A rule over a list without maxItems of strings without maxLength has no cost bound: the
    CRD is refused with the cost-budget error, before any object is validated."""
    with pytest.raises(ApiRejection) as rejected:
        kube.apply("sig_api_machinery/cel-crd-unbounded.yaml", group=group_for(kube))
    assert rejected.value.code == 422
    assert "exceeds budget" in rejected.value.message
    assert any("x-kubernetes-validations[0].rule" in f for f in rejected.value.cause_fields())
