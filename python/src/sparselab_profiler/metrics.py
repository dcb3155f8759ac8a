"""Pure metric math over tensors: exact nnz, exact histograms of non-zero values, widening ranges."""

from __future__ import annotations

import math

import torch

from .records import Histogram

DEFAULT_BINS = 64
# Headroom added whenever a range has to widen, so a slowly growing weight does not widen it every sample.
RANGE_HEADROOM = 1.25


def widened_range(current: tuple[float, float] | None, absmax: float) -> tuple[float, float]:
    """A symmetric bin range that covers `absmax` and never shrinks below `current`."""
    if current is not None and absmax <= current[1]:
        return current
    half = absmax * RANGE_HEADROOM if absmax > 0 else 1.0
    if current is not None:
        half = max(half, current[1])
    return (-half, half)


def nonzero_histogram(values: torch.Tensor, lo: float, hi: float, bins: int = DEFAULT_BINS) -> list[int]:
    """Exact integer counts of the finite, non-zero `values` in `bins` equal bins over [lo, hi]."""
    flat = values.detach().reshape(-1)
    keep = torch.isfinite(flat) & (flat != 0) & (flat >= lo) & (flat <= hi)
    kept = flat[keep].to(torch.float64)
    inner_edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64, device=kept.device)[1:-1]
    index = torch.bucketize(kept, inner_edges, right=True)
    return torch.bincount(index, minlength=bins).tolist()


def abs_max_finite(values: torch.Tensor) -> float:
    """Largest finite |value|, 0.0 when there is none."""
    flat = values.detach().reshape(-1)
    finite = flat[torch.isfinite(flat)]
    return float(finite.abs().max()) if finite.numel() else 0.0


def count_nonfinite(values: torch.Tensor) -> int:
    return int((~torch.isfinite(values.detach())).sum())


def histogram_of(values: torch.Tensor, current_range: tuple[float, float] | None, bins: int = DEFAULT_BINS) -> Histogram:
    """Histogram of the non-zero values over a range widened (never narrowed) to fit them all."""
    lo, hi = widened_range(current_range, abs_max_finite(values))
    assert math.isfinite(lo) and math.isfinite(hi)
    return Histogram(lo=lo, hi=hi, counts=nonzero_histogram(values, lo, hi, bins))
