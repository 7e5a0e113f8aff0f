"""Proportions with their uncertainty: the 95% Wilson score interval every rate in `outreach stats`, the
dashboard and the quarterly report carries."""

from __future__ import annotations

import math

# What answering adverts by hand achieved, from the research behind the project (about 10% response): drawn and
# printed as a reference, never as a target.
MANUAL_RESPONSE_RATE = 0.10


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion: unlike the normal approximation it stays inside [0, 1] and is
    honest for the small counts a variant test or a small region has."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))
