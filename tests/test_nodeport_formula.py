"""KEP-3668's static band formula, on several ranges (the sig-network suite uses it)."""

from __future__ import annotations

import pytest

from suites.sig_network.nodeports import static_band_size


@pytest.mark.parametrize(
    ("size", "band"),
    [
        (2768, 86),  # the default 30000-32767: band 30000-30085
        (100, 16),  # the suite's 30000-30099
        (16, 0),  # too small for a band
        (17, 16),
        (1024, 32),
        (4096, 128),
        (10000, 128),  # capped
    ],
)
def test_static_band_size(size, band):
    assert static_band_size(size) == band
