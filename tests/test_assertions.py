from __future__ import annotations

import pytest

from kconformance.assertions import assert_matches, mismatches


def test_subset_match_passes():
    assert_matches({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 2}})


def test_failure_lists_only_the_differing_paths():
    with pytest.raises(AssertionError) as err:
        assert_matches(
            {"status": {"failed": 3, "succeeded": 2, "conditions": [{"type": "Failed"}]}},
            {"status": {"failed": 4, "succeeded": 2, "conditions": [{"type": "Complete"}]}},
        )
    text = str(err.value)
    assert "status.failed: expected 4, got 3" in text
    assert "status.conditions[0].type: expected 'Complete', got 'Failed'" in text
    assert "succeeded" not in text


def test_server_noise_is_ignored():
    assert (
        mismatches({"metadata": {"name": "x"}}, {"metadata": {"name": "x", "managedFields": []}})
        == []
    )


def test_missing_key_and_list_length():
    found = mismatches({"a": [1]}, {"a": [1, 2], "b": 1})
    assert "a: expected 2 items, got 1: [1]" in found
    assert "b: missing (expected 1)" in found
