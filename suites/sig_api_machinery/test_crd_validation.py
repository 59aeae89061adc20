"""sig-api-machinery: CRD validation ratcheting (KEP-4008) and CEL validation rules (KEP-2876)."""

from __future__ import annotations

import itertools
import json
from typing import Any

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


def _widget(
    kube: Kube, name: str = "widget", revision: int = 1, value: str = "old", items: str = "[old]"
) -> list[dict[str, Any]]:
    return kube.apply(
        "sig_api_machinery/ratcheting-nested-cr.yaml",
        group=group_for(kube),
        name=name,
        revision=revision,
        value=value,
        items=items,
    )


def _refused_fields(kube: Kube, **widget: Any) -> set[str]:
    """The fields a Widget update's 422 names; none when the update is admitted."""
    try:
        _widget(kube, **widget)
    except ApiRejection as refused:
        assert refused.code == 422, refused
        return set(refused.cause_fields())
    return set()


# the paths of the fields whose old value the API server finds by name or by list-map key
CORRELATABLE = {"field", "struct.field", "list[0].field", "list[1].field"}
JSON_SCHEMA_MAP_PATHS = {"map.foo.field", "map.bar.field"}
# CEL rule errors name map values by key in brackets
CEL_CORRELATABLE = CORRELATABLE | {"map[foo].field", "map[bar].field"}
UNCORRELATABLE = {"atomicArray[0]", "setArray[0]"}


@pytest.mark.feature("CRDValidationRatcheting")
def test_ratcheting_correlates_nested_fields_but_not_atomic_or_set_list_items(
    kube: Kube,
) -> None:
    """Upstream's JSON-schema ratcheting specs (crd_validation_ratcheting.go): once the schema
    allows only "valid", a Widget whose every string is "old" can still be updated as long as
    the invalid values are unchanged - at the top, in a nested object, in map-list items
    (correlated by key), in map values (by key), and in lists left whole. Appending to an
    atomic or a set list is refused for its old items (items without a key have no old value
    to correlate), naming those lists and no correlatable field; changing the correlatable
    fields to another invalid value is refused at each path; to "valid", admitted.

    1.28's alpha differs in two ways (apiextensions-apiserver v0.28.15 validation/ratcheting.go;
    from 1.29 the correlation moved to apiserver's pkg/cel/common/equality.go): a list without
    x-kubernetes-list-type is correlated by index, so its old items stay ratcheted when one is
    appended; and a set list is compared item by item, finds no old item for any, so even an
    unchanged set's invalid items are not ratcheted: every update is refused at setArray[0].
    """
    group = group_for(kube)
    alpha = kube.release == "1.28"
    unratcheted_set = {"setArray[0]"} if alpha else set()
    _crd(
        kube,
        "sig_api_machinery/ratcheting-nested-crd.yaml",
        constraint="enum: [old, changed, valid]",
    )
    _widget(kube)
    _crd(kube, "sig_api_machinery/ratcheting-nested-crd.yaml", constraint="enum: [valid]")
    probes = itertools.count()

    def new_widgets_are_checked() -> None:
        try:
            _widget(kube, name=f"probe-{next(probes)}")
        except ApiRejection as refused:
            if "field" in refused.cause_fields():
                return
            raise NotYet(f"refused, but not by the tightened schema: {refused}") from None
        raise NotYet(f"a new Widget in {group} was admitted with the old schema")

    until_in_effect(new_widgets_are_checked)

    unchanged = _refused_fields(kube, revision=2)
    assert unchanged == unratcheted_set, f"unchanged invalid values refused at {unchanged}"

    appended = _refused_fields(kube, revision=2, items="[old, valid]")
    assert appended == {"setArray[0]"} | (set() if alpha else {"atomicArray[0]"}), appended

    changed = _refused_fields(kube, revision=2, value="changed")
    assert changed == CORRELATABLE | JSON_SCHEMA_MAP_PATHS | unratcheted_set, changed

    assert _refused_fields(kube, revision=2, value="valid") == unratcheted_set
    if not alpha:
        stored = kube.get("Widget", "widget", api_version=f"{group}/v1")
        assert stored is not None
        assert stored["metadata"]["labels"]["revision"] == "2"
        assert stored["map"] == {"foo": {"field": "valid"}, "bar": {"field": "valid"}}
        assert stored["atomicArray"] == stored["setArray"] == ["old"]


@pytest.mark.feature(
    "CRDValidationRatcheting",
    unprovable="transition rules are evaluated on every update whether ratcheting is on or "
    "off: what this test shows is what ratcheting leaves alone",
)
def test_transition_rules_are_never_ratcheted(kube: Kube) -> None:
    """A transition rule (self != oldSelf) fails on every field an update leaves unchanged,
    ratcheting or not: a label-only update of a Widget is refused at each correlatable path
    (upstream: "MUST NOT ratchet errors raised by transition rules"); changing every one of
    them is admitted."""
    _crd(kube, "sig_api_machinery/ratcheting-transition-crd.yaml")
    until_in_effect(lambda: _widget(kube, value="first"))

    unchanged = _refused_fields(kube, revision=2, value="first")
    assert unchanged == CEL_CORRELATABLE, unchanged

    (updated,) = _widget(kube, revision=2, value="second")
    assert updated["list"][1] == {"key": "bar", "field": "second"}


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


def _refused_rule_crd(kube: Kube, rule: str) -> ApiRejection:
    with pytest.raises(ApiRejection) as rejected:
        kube.apply("sig_api_machinery/cel-crd-rule.yaml", group=group_for(kube), rule=rule)
    assert rejected.value.code == 422, rejected.value
    assert "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule" in (
        rejected.value.cause_fields()
    ), rejected.value
    return rejected.value


@pytest.mark.feature("CustomResourceValidationExpressions")
def test_rule_that_does_not_parse_is_refused_at_creation(kube: Kube) -> None:
    """Upstream: a CRD whose rule contains a syntax error (self = 42) is refused, the error
    naming the rule ("Syntax error")."""
    assert "Syntax error" in _refused_rule_crd(kube, "self = 42").message


@pytest.mark.feature("CustomResourceValidationExpressions")
def test_rule_naming_a_field_the_schema_lacks_is_refused_at_creation(kube: Kube) -> None:
    """Upstream: rules are type-checked against the schema; self.z, a property spec does not
    declare, refuses the CRD with "undefined field 'z'"."""
    assert "undefined field 'z'" in _refused_rule_crd(kube, "self.z == 100").message


def _probe(kube: Kube, name: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    return kube.apply(
        "sig_api_machinery/cel-probe.yaml", group=group_for(kube), name=name, spec=json.dumps(spec)
    )


@pytest.mark.feature("CustomResourceValidationExpressions")
def test_rule_exceeding_the_runtime_cost_limit_refuses_the_object(kube: Kube) -> None:
    """Upstream: a rule comparing every pair of a list of at most 725 integers is within the
    CRD's estimated budget, so the CRD is admitted; on an object whose list has all 725 items,
    its evaluation exceeds the per-call cost limit and the object is refused ("call cost
    exceeds limit"), while a two-item list passes."""
    _crd(
        kube,
        "sig_api_machinery/cel-crd-rule.yaml",
        rule="self.largeArray.all(x, self.largeArray.all(y, y == x))",
    )
    until_in_effect(lambda: _probe(kube, "short", {"largeArray": [20, 20]}))

    with pytest.raises(ApiRejection) as rejected:
        _probe(kube, "long", {"largeArray": [20] * 725})
    assert rejected.value.code == 422, rejected.value
    assert "call cost exceeds limit" in rejected.value.message, rejected.value.message


@pytest.mark.feature("CustomResourceValidationExpressions")
def test_transition_rule_is_skipped_on_create_and_refuses_a_breaking_update(kube: Kube) -> None:
    """Upstream: num's transition rule self > oldSelf has no old value on create, so num 10 is
    admitted; the update to 9 is refused at spec.num ("failed rule"), the update to 11 admitted."""
    _crd(kube, "sig_api_machinery/cel-crd-rule.yaml", rule="self.x >= 0")
    until_in_effect(lambda: _probe(kube, "counter", {"x": 0, "num": 10}))

    with pytest.raises(ApiRejection) as rejected:
        _probe(kube, "counter", {"x": 0, "num": 9})
    assert rejected.value.code == 422, rejected.value
    assert rejected.value.cause_fields() == ["spec.num"], rejected.value
    assert "failed rule: self > oldSelf" in rejected.value.message, rejected.value.message
    (updated,) = _probe(kube, "counter", {"x": 0, "num": 11})
    assert updated["spec"]["num"] == 11


def _cel_rule(allowed: str) -> str:
    """The nested Widget's per-string constraint as a CEL rule."""
    return f"x-kubernetes-validations: [{{rule: \"self == '{allowed}'\"}}]"


@pytest.mark.feature(
    "CRDValidationRatcheting",
    unprovable="1.28's alpha ratchets no CEL rule, so there what this test shows is the same with "
    "the feature off; from 1.33 the gate is locked on (1.30-1.32, beta, are not proved here)",
)
def test_cel_rules_ratchet_nested_fields_but_not_atomic_or_set_list_items(kube: Kube) -> None:
    """Upstream's CRD Validation Rule ratcheting specs (crd_validation_ratcheting.go): once
    every string must satisfy the CEL rule self == 'valid', a Widget whose strings are all "old"
    can still be updated while they are unchanged - at the top, nested, in map-list items and
    map values - even with a new, valid map-list item; appending to the atomic and the set list
    is refused at their old items only (atomicArray[0], setArray[0]); changing the correlatable
    fields to another invalid value is refused at each path (CEL names map values map[foo].field,
    where OpenAPI says map.foo.field); to "valid", admitted.

    1.28's alpha ratchets OpenAPI schema errors only (see test_cel_rule_ratcheting): every
    invalid value is refused whether it changed or not, so each of these updates is refused at
    every path, and the one to "valid" at the two lists' items."""
    group = group_for(kube)
    _crd(kube, "sig_api_machinery/ratcheting-nested-crd.yaml", constraint="description: any")
    _widget(kube)
    _crd(kube, "sig_api_machinery/ratcheting-nested-crd.yaml", constraint=_cel_rule("valid"))
    probes = itertools.count()

    def new_widgets_are_checked() -> None:
        try:
            _widget(kube, name=f"probe-{next(probes)}")
        except ApiRejection as refused:
            if "field" in refused.cause_fields():
                return
            raise NotYet(f"refused, but not by the new rule: {refused}") from None
        raise NotYet(f"a new Widget in {group} was admitted with the old schema")

    until_in_effect(new_widgets_are_checked)

    (with_new_item,) = kube.render(
        "sig_api_machinery/ratcheting-nested-cr.yaml",
        group=group,
        name="widget",
        revision=2,
        value="old",
        items="[old]",
    )
    with_new_item["list"].append({"key": "baz", "field": "valid"})
    every_path = CEL_CORRELATABLE | UNCORRELATABLE
    if kube.release == "1.28":
        with pytest.raises(ApiRejection) as refused:
            kube.apply_objects([with_new_item])
        assert set(refused.value.cause_fields()) == every_path, refused.value
        assert _refused_fields(kube, revision=2, value="changed") == every_path
        assert _refused_fields(kube, revision=2, value="valid") == UNCORRELATABLE
        return

    (updated,) = kube.apply_objects([with_new_item])
    assert updated["list"][2] == {"key": "baz", "field": "valid"}
    appended = _refused_fields(kube, revision=3, items="[old, valid]")
    assert appended == UNCORRELATABLE, appended
    changed = _refused_fields(kube, revision=3, value="changed")
    assert changed == CEL_CORRELATABLE, changed
    assert _refused_fields(kube, revision=3, value="valid") == set()
