import numpy as np
import pytest
import torch

from sparselab_profiler.metrics import bin_positions, count_positions, value_stats, widened_range


def test_histogram_counts_only_finite_non_zeros_exactly():
    values = torch.tensor([0.0, 0.0, -0.9, -0.1, 0.05, 0.3, 0.3, 1.0, -1.0, float("nan"), float("inf"), 0.0])
    stats = value_stats(values, (-1.25, 1.25), bins=5)
    # Bins of width 0.5 over [-1.25, 1.25]: zeros, NaN and Inf are left out; the top edge is included.
    assert stats.hist.counts == [2, 0, 2, 2, 1]
    assert (stats.nonfinite, stats.nonzero) == (2, 7)
    reference, _ = np.histogram([-0.9, -0.1, 0.05, 0.3, 0.3, 1.0, -1.0], bins=5, range=(-1.25, 1.25))
    assert stats.hist.counts == reference.tolist()


def test_zeros_are_subtracted_from_the_bin_that_holds_zero():
    values = torch.cat([torch.zeros(1000), torch.full((3,), 1e-6), torch.full((2,), -1e-6)])
    assert value_stats(values, (-1.0, 1.0), bins=4).hist.counts == [0, 2, 3, 0]


def test_counts_stay_exact_past_float32_precision():
    n = 2**24 + 3  # float32 counting would saturate at 2**24
    stats = value_stats(torch.full((n,), 0.25), (-1.0, 1.0), bins=2)
    assert stats.hist.counts == [0, n]


def test_deterministic_mode_uses_the_integer_path():
    values = torch.tensor([-0.75, -0.25, 0.0, 0.25, 0.5, 0.75])
    torch.use_deterministic_algorithms(True)
    try:
        assert value_stats(values, (-1.0, 1.0), bins=4).hist.counts == [1, 1, 1, 2]
    finally:
        torch.use_deterministic_algorithms(False)
    assert value_stats(values, (-1.0, 1.0), bins=4).hist.counts == [1, 1, 1, 2]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_low_precision_weights(dtype):
    values = torch.tensor([-0.5, 0.0, 0.25, 0.75], dtype=dtype)
    stats = value_stats(values, None, bins=8)
    assert (stats.hist.lo, stats.hist.hi) == (-0.9375, 0.9375)
    assert stats.hist.counts == [0, 1, 0, 0, 0, 1, 0, 1]


def test_range_only_widens():
    first = widened_range(None, 0.8)
    assert first == (-1.0, 1.0)
    assert widened_range(first, 0.5) == first
    assert widened_range(first, 2.0) == (-2.5, 2.5)
    assert widened_range(None, 0.0) == (-1.0, 1.0)
    assert value_stats(torch.tensor([3.0]), first).hist.hi == 3.75


@pytest.mark.parametrize("method", ["bincount", "histc", "sort"])
def test_every_counting_method_gives_the_same_exact_counts(method):
    torch.manual_seed(0)
    values = torch.cat([torch.randn(10_000).clamp(-3.9, 3.9), torch.zeros(500), torch.tensor([float("nan"), 4.0, -4.0])])
    positions = bin_positions(values, -4.0, 4.0, 32)
    reference = np.bincount(np.minimum(np.floor(positions[positions >= 0].numpy()).astype(int), 31), minlength=32)
    counts = count_positions(positions, 32, method=method)
    assert counts.tolist() == reference.tolist()
    assert counts.sum() == 10_002  # every finite non-zero value, both range ends included
