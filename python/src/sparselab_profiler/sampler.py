"""The adaptive sampling policy: widen the interval while the profiler costs more than its budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: samples measured at an interval before the policy may change it again
SETTLE_SAMPLES = 3
MAX_EVERY = 100_000


@dataclass
class IntervalChange:
    every: int
    #: the overhead (profiler time / training time) that triggered the change
    overhead: float


class AdaptiveSampler:
    """Keeps `cost per sample / (every × step time)` under `budget` by doubling the interval (always a
    multiple of the configured one, so samples stay on round steps) and halves it back when the
    overhead falls under a quarter of the budget. Pure arithmetic on the numbers it is given.

    Example:
        >>> sampler = AdaptiveSampler(every=10, budget=0.01)
        >>> sampler.observe(cost_ms=5.0, step_ms=20.0)  # 5 / (10 x 20) = 2.5% > 1%
    """

    def __init__(self, every: int, budget: Optional[float]):
        self.base = every
        self.every = every
        self.budget = budget
        self._cost_ms: Optional[float] = None
        self._samples_at_interval = 0

    def overhead(self, step_ms: float) -> Optional[float]:
        if self._cost_ms is None or step_ms <= 0:
            return None
        return self._cost_ms / (self.every * step_ms)

    def observe(self, cost_ms: float, step_ms: Optional[float]) -> Optional[IntervalChange]:
        """Feeds one sample's cost (with whatever the profiler spent since the previous sample) and the
        current training step time; returns the new interval when it changes."""
        self._cost_ms = cost_ms if self._cost_ms is None else 0.7 * self._cost_ms + 0.3 * cost_ms
        self._samples_at_interval += 1
        if self.budget is None or step_ms is None or self._samples_at_interval < SETTLE_SAMPLES:
            return None
        overhead = self.overhead(step_ms)
        every = self.every
        while every < MAX_EVERY and self._cost_ms / (every * step_ms) > self.budget:
            every *= 2
        if every == self.every:
            while every > self.base and self._cost_ms / ((every // 2) * step_ms) < self.budget / 2 and overhead < self.budget / 4:
                every //= 2
        if every == self.every:
            return None
        self.every = every
        self._samples_at_interval = 0
        return IntervalChange(every, overhead)
