"""The NodePort static band of KEP-3668, as the allocator computes it."""

from __future__ import annotations


def static_band_size(range_size: int) -> int:
    """`min(max(16, size/32), 128)` with integer division; 0 for ranges of 16 ports or fewer
    (pkg/registry/core/service/portallocator calculateRangeOffset)."""
    if range_size <= 16:
        return 0
    return min(max(16, range_size // 32), 128)


def parse_range(text: str) -> tuple[int, int]:
    low, high = text.split("-")
    return int(low), int(high)
