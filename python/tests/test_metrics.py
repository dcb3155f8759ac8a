import numpy as np
import pytest
import torch

from sparselab_profiler.metrics import histogram_of, nonzero_histogram, widened_range


def test_histogram_counts_only_finite_non_zeros_exactly():
    values = torch.tensor([0.0, 0.0, -0.9, -0.1, 0.05, 0.3, 0.3, 1.0, -1.0, float("nan"), float("inf"), 0.0])
    counts = nonzero_histogram(values, -1.0, 1.0, bins=4)
    # Bins [-1,-0.5) [-0.5,0) [0,0.5) [0.5,1]: zeros, NaN and Inf excluded; both range ends included.
    assert counts == [2, 1, 3, 1]
    reference, _ = np.histogram(np.array([-0.9, -0.1, 0.05, 0.3, 0.3, 1.0, -1.0]), bins=4, range=(-1, 1))
    assert counts == reference.tolist()


def test_counts_stay_exact_past_float32_precision():
    n = 2**24 + 3  # float32 counting would saturate at 2**24
    counts = nonzero_histogram(torch.full((n,), 0.25), -1.0, 1.0, bins=2)
    assert counts == [0, n]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_low_precision_weights(dtype):
    values = torch.tensor([-0.5, 0.0, 0.25, 0.75], dtype=dtype)
    assert histogram_of(values, None, bins=8).counts == nonzero_histogram(values.float(), -0.9375, 0.9375, 8)
    assert sum(histogram_of(values, None, bins=8).counts) == 3


def test_range_only_widens():
    first = widened_range(None, 0.8)
    assert first == (-1.0, 1.0)
    assert widened_range(first, 0.5) == first
    assert widened_range(first, 2.0) == (-2.5, 2.5)
    assert widened_range(None, 0.0) == (-1.0, 1.0)
