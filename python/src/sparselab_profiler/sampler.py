"""The sampling policy: keep the requested interval; widen it only when the profiler costs far more than its
budget, as a guard against a runaway cost, never to trim a cheap one.

Why: the samples a user asks for (`every`) are the product. A sample reads each profiled weight about once, at
a few times the cost of one plain read pass over them (bench/sample_cost.py), while a training step reads the
same weights several times over (forward, backward, optimizer) besides its compute; so at `every=10` a sample
costs a small share of training on any model worth profiling: about 2% or less, topology hooks included, on
the CPU workloads of bench/overhead.py. On its MLP (1.1 MB of weights, ~9 ms a step) a sample's fixed part
alone (the model walk, the record) comes near 1% at every=10, so a 1% budget, enforced to the letter, dropped
three samples in four there (every=10 became every=40, on the ResNet-18 too) for a saving the wall clock barely
resolves. So the budget is the level the overhead is brought back to, not a
tripwire: nothing changes while the measured overhead stays under `WIDEN_PAST` times the budget (10% with the
default 1%); past it (a sample costing as much as the steps between two samples: a tiny step, a huge model at
every=1, slow plugin metrics) the interval doubles until the overhead is back under the budget, and it halves
back, never below the requested interval, once the overhead falls under a quarter of the budget. `budget=None`
keeps the interval fixed whatever it costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: samples measured at an interval before the policy may change it again
SETTLE_SAMPLES = 3
MAX_EVERY = 100_000
#: the interval is widened only once the overhead passes this many times the budget
WIDEN_PAST = 10


@dataclass
class IntervalChange:
    every: int
    #: the overhead (profiler time / training time) that triggered the change
    overhead: float


class AdaptiveSampler:
    """Keeps the requested interval while `cost per sample / (every × step time)` stays under `WIDEN_PAST ×
    budget`; past that, doubles the interval (always a multiple of the configured one, so samples stay on round
    steps) until the overhead is under `budget`, and halves it back when the overhead falls under a quarter of
    the budget. Pure arithmetic on the numbers it is given.

    Example:
        >>> sampler = AdaptiveSampler(every=10, budget=0.01)
        >>> sampler.observe(cost_ms=5.0, step_ms=20.0)   # 5 / (10 x 20) = 2.5%: under 10%, every=10 is kept
        >>> sampler.observe(cost_ms=50.0, step_ms=20.0)  # 25% (after settling): widened until under 1%
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
        if overhead > WIDEN_PAST * self.budget:
            while every < MAX_EVERY and self._cost_ms / (every * step_ms) > self.budget:
                every *= 2
        else:
            while every > self.base and self._cost_ms / ((every // 2) * step_ms) < self.budget / 2 and overhead < self.budget / 4:
                every //= 2
        if every == self.every:
            return None
        self.every = every
        self._samples_at_interval = 0
        return IntervalChange(every, overhead)
