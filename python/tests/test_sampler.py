from sparselab_profiler.sampler import AdaptiveSampler, IntervalChange


def feed(sampler, cost_ms, step_ms, times):
    return [c for c in (sampler.observe(cost_ms, step_ms) for _ in range(times)) if c]


def test_widens_by_doubling_until_under_budget_after_settling():
    sampler = AdaptiveSampler(every=10, budget=0.01)
    # 9 ms per sample against 10 x 20 ms of training = 4.5%: needs 80 steps (9 / 1600 = 0.56%).
    assert sampler.observe(9.0, 20.0) is None and sampler.observe(9.0, 20.0) is None
    assert sampler.observe(9.0, 20.0) == IntervalChange(every=80, overhead=0.045)
    assert feed(sampler, 9.0, 20.0, 10) == []


def test_narrows_back_when_training_slows_but_never_below_the_configured_interval():
    sampler = AdaptiveSampler(every=10, budget=0.01)
    feed(sampler, 9.0, 20.0, 3)
    assert sampler.every == 80
    changes = feed(sampler, 9.0, 2000.0, 20)  # steps now 100x slower: 9 / (10 x 2000) = 0.045%
    assert [c.every for c in changes] == [10]
    assert sampler.every == 10


def test_no_budget_means_a_fixed_interval():
    sampler = AdaptiveSampler(every=10, budget=None)
    assert feed(sampler, 500.0, 1.0, 10) == [] and sampler.every == 10
