"""Log-scaled latency buckets: percentiles within 3.5 % from a few hundred integers.

A duration in milliseconds falls in bucket ``i`` when ``BASE * GROWTH**i <= ms
< BASE * GROWTH**(i+1)``. Buckets are plain counters, so histograms from
several workers, slots or hosts merge by adding counts, which is what lets
percentiles be aggregated across processes (a percentile of percentiles is
not a percentile). A percentile is reported as the geometric middle of its
bucket, at most ``sqrt(GROWTH) - 1`` (3.4 %) from any value in it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

BASE_MS = 0.01
GROWTH = 1.07
_LOG_GROWTH = math.log(GROWTH)
MAX_BUCKET = 300  # ~6.4 hours: anything slower shares the last bucket


def bucket_of(ms: float) -> int:
    if ms <= BASE_MS:
        return 0
    return min(int(math.log(ms / BASE_MS) / _LOG_GROWTH), MAX_BUCKET)


def bucket_value(index: int) -> float:
    """The geometric middle of bucket ``index``, in ms."""
    return BASE_MS * GROWTH ** (index + 0.5)


def percentiles(counts: Mapping[int, int], quantiles: Iterable[float]) -> list[float | None]:
    """Nearest-rank percentiles (``None`` without samples) from bucket counts."""
    total = sum(counts.values())
    if total <= 0:
        return [None for _ in quantiles]
    ordered = sorted((index, n) for index, n in counts.items() if n > 0)
    results: list[float | None] = []
    for q in quantiles:
        rank = max(1, math.ceil(q * total))
        seen = 0
        for index, n in ordered:
            seen += n
            if seen >= rank:
                results.append(round(bucket_value(index), 3))
                break
    return results
