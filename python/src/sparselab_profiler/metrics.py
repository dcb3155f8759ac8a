"""Pure metric math over tensors: exact nnz, exact histograms of non-zero values, widening ranges."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .records import Histogram

DEFAULT_BINS = 64
# Headroom added whenever a range has to widen, so a slowly growing weight does not widen it every sample.
RANGE_HEADROOM = 1.25
# histc counts in float32, which is exact only below 2**24 per bin; bigger tensors take the integer path.
FLOAT_COUNT_LIMIT = 2**24


def widened_range(current: tuple[float, float] | None, absmax: float) -> tuple[float, float]:
    """A symmetric bin range that covers `absmax` and never shrinks below `current`."""
    if current is not None and absmax <= current[1]:
        return current
    half = absmax * RANGE_HEADROOM if absmax > 0 else 1.0
    if current is not None:
        half = max(half, current[1])
    return (-half, half)


@dataclass
class ValueStats:
    hist: Histogram
    nonfinite: int
    #: finite values that are not zero (what the histogram holds)
    nonzero: int


def _counts(flat: torch.Tensor, lo: float, hi: float, bins: int) -> torch.Tensor:
    """Integer counts in `bins` equal bins over [lo, hi] (hi included), by histc's binning rule."""
    if flat.numel() < FLOAT_COUNT_LIMIT and not torch.are_deterministic_algorithms_enabled():
        return torch.histc(flat, bins, lo, hi).round().long()
    index = ((flat - lo) * (bins / (hi - lo))).long().clamp_(0, bins - 1)
    return torch.bincount(index, minlength=bins)


def finite_values(values: torch.Tensor) -> tuple[torch.Tensor, int, float]:
    """(flat finite values, count of NaN/Inf, largest finite |value|).

    One min/max pass reveals NaN and Inf; only then is a filtered copy made."""
    flat = values.detach().reshape(-1)
    if flat.dtype not in (torch.float32, torch.float64):
        flat = flat.float()  # fp16/bf16 weights: histc has no kernel for them everywhere
    if not flat.numel():
        return flat, 0, 0.0
    low, high = (float(x) for x in torch.aminmax(flat))
    nonfinite = 0
    if not (math.isfinite(low) and math.isfinite(high)):
        finite = torch.isfinite(flat)
        nonfinite = int(flat.numel() - finite.sum())
        flat = flat[finite]
        low, high = (float(x) for x in torch.aminmax(flat)) if flat.numel() else (0.0, 0.0)
    return flat, nonfinite, max(-low, high)


def value_stats(values: torch.Tensor, current_range: tuple[float, float] | None, bins: int = DEFAULT_BINS,
                fixed_range: tuple[float, float] | None = None) -> ValueStats:
    """Histogram of the finite non-zero `values` over a range widened (never narrowed) to fit them all,
    or over `fixed_range` when the caller has agreed one (across ranks).

    One pass for min/max, one for the histogram, one for the zero count: zeros land in one known bin
    and are subtracted there, so no boolean-indexed copy is made unless the tensor holds NaN or Inf.
    """
    flat, nonfinite, absmax = finite_values(values)
    lo, hi = fixed_range or widened_range(current_range, absmax)
    nonzero = int(flat.bool().sum())
    counts = _counts(flat, lo, hi, bins) if flat.numel() else torch.zeros(bins, dtype=torch.long)
    zeros = flat.numel() - nonzero
    if zeros:
        zero_bin = min(max(math.floor(-lo * (bins / (hi - lo))), 0), bins - 1)
        counts[zero_bin] -= zeros
    return ValueStats(Histogram(lo=lo, hi=hi, counts=counts.tolist()), nonfinite, nonzero)


def histogram_of(values: torch.Tensor, current_range: tuple[float, float] | None, bins: int = DEFAULT_BINS) -> Histogram:
    return value_stats(values, current_range, bins).hist
