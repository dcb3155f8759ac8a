from sparselab_profiler.sampler import WIDEN_PAST, AdaptiveSampler, IntervalChange


def feed(sampler, cost_ms, step_ms, times):
    return [c for c in (sampler.observe(cost_ms, step_ms) for _ in range(times)) if c]


def test_the_requested_interval_holds_while_the_overhead_is_under_ten_budgets():
    sampler = AdaptiveSampler(every=10, budget=0.01)
    # 9 ms per sample against 10 x 20 ms of training = 4.5%: over the 1% budget, but far from a runaway cost
    assert feed(sampler, 9.0, 20.0, 20) == [] and sampler.every == 10
    assert WIDEN_PAST * 0.01 == 0.1
    assert feed(sampler, 19.9, 20.0, 20) == [] and sampler.every == 10  # 9.95%: still kept


def test_widens_by_doubling_until_under_budget_after_settling_past_ten_budgets():
    sampler = AdaptiveSampler(every=10, budget=0.01)
    # 30 ms per sample against 10 x 20 ms of training = 15% > 10%: widened until under 1%, 160 steps (0.94%).
    assert sampler.observe(30.0, 20.0) is None and sampler.observe(30.0, 20.0) is None
    assert sampler.observe(30.0, 20.0) == IntervalChange(every=160, overhead=0.15)
    assert feed(sampler, 30.0, 20.0, 10) == []


def test_narrows_back_when_training_slows_but_never_below_the_configured_interval():
    sampler = AdaptiveSampler(every=10, budget=0.01)
    feed(sampler, 30.0, 20.0, 3)
    assert sampler.every == 160
    changes = feed(sampler, 30.0, 2000.0, 20)  # steps now 100x slower: 30 / (10 x 2000) = 0.15%
    assert [c.every for c in changes] == [10]
    assert sampler.every == 10


def test_no_budget_means_a_fixed_interval():
    sampler = AdaptiveSampler(every=10, budget=None)
    assert feed(sampler, 500.0, 1.0, 10) == [] and sampler.every == 10
