"""Pure metric math over tensors: exact nnz, exact histograms of non-zero values, widening ranges."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .records import Histogram

DEFAULT_BINS = 64
# Headroom added whenever a range has to widen, so a slowly growing weight does not widen it every sample.
RANGE_HEADROOM = 1.25
# histc counts in float32, which is exact only below 2**24 per bin, so it is fed smaller chunks.
FLOAT_COUNT_LIMIT = 2**24
# Interleaved counters for bincount (see count_positions).
BINCOUNT_LANES = 8


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
    #: the largest finite |value| (0.0 when there is none)
    absmax: float = 0.0


class Workspace:
    """Scratch buffers reused from sample to sample: a fresh 10 MB temporary per layer costs more in page
    faults than the arithmetic done in it. One buffer per purpose and dtype, as large as the largest layer."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[str, torch.dtype], torch.Tensor] = {}
        self._host: dict[tuple[str, torch.dtype], tuple[torch.Tensor, np.ndarray]] = {}

    def get(self, purpose: str, dtype: torch.dtype, n: int) -> torch.Tensor:
        buffer = self._buffers.get((purpose, dtype))
        if buffer is None or buffer.numel() < n:
            buffer = self._buffers[purpose, dtype] = torch.empty(n, dtype=dtype)
        return buffer[:n]

    def host(self, purpose: str, dtype: torch.dtype, n: int) -> tuple[torch.Tensor, np.ndarray]:
        """A buffer of at least `n` elements of a dtype numpy has, whole, and its numpy view, made once: a slice and
        `.numpy()` cost ~25 us a sample with caches a training step left cold."""
        pair = self._host.get((purpose, dtype))
        if pair is None or pair[1].size < n:
            buffer = torch.empty(n, dtype=dtype)
            pair = self._host[purpose, dtype] = (buffer, buffer.numpy())
        return pair


def masked_values(values: torch.Tensor, mask: torch.Tensor, workspace: Workspace | None = None) -> torch.Tensor:
    """`values` where `mask` is set and 0 elsewhere, into the workspace's buffer on the CPU. Not `values * mask`:
    a NaN or Inf under a masked position would survive the product (NaN × 0 is NaN) and be counted as stored."""
    values, mask = values.detach(), mask.detach()
    keep = mask if mask.dtype == torch.bool else mask != 0
    zero = torch.zeros((), dtype=values.dtype, device=values.device)
    if workspace is None or values.device.type != "cpu":
        return torch.where(keep, values, zero)
    return torch.where(keep, values, zero, out=workspace.get("values", values.dtype, values.numel()).view(values.shape))


def count_set(mask: torch.Tensor) -> torch.Tensor:
    """Entries that are not zero, as an exact 0-d int64 tensor on the mask's device (no host sync).
    count_nonzero over a bool tensor is the fastest exact count on the CPU: summing bools is ~20x slower."""
    return torch.count_nonzero(mask if mask.dtype == torch.bool else mask.bool())


def working_dtype(dtype: torch.dtype) -> torch.dtype:
    """Binning runs in float64 for float64 weights and in float32 otherwise (fp16/bf16 are upcast)."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def bin_positions(values: torch.Tensor, lo: torch.Tensor | float, hi: torch.Tensor | float, bins: int,
                  drop_zeros: bool = True, workspace: Workspace | None = None) -> torch.Tensor:
    """Each value's position in bins over [lo, hi] (bin = floor(position); hi lands on `bins`). With
    `drop_zeros`, zeros and NaN/Inf become -1, outside every bin. The host and the device path both bin
    through this arithmetic, in the same dtype, so a value on an edge lands in the same bin either way."""
    flat = values.reshape(-1).to(working_dtype(values.dtype))
    if workspace is not None and flat.device.type == "cpu":
        positions = torch.sub(flat, lo, out=workspace.get("positions", flat.dtype, flat.numel())).mul_(bins / (hi - lo))
    else:
        positions = (flat - lo) * (bins / (hi - lo))
    if not drop_zeros:
        return positions
    return torch.where(torch.isfinite(flat) & (flat != 0), positions, -1.0)


def count_positions(positions: torch.Tensor, bins: int, method: str | None = None,
                    workspace: Workspace | None = None) -> torch.Tensor:
    """Exact integer counts (as float64) of positions in [0, bins]: bin k holds floor(position) == k,
    `bins` itself falls in the last bin, and anything below 0 (the -1 of a dropped value) is left out.

    `method` (default: by device): "bincount" on the CPU (integer counts, any size); "histc" on CUDA,
    fed the middle of each value's bin so its own rounding cannot move it, in chunks below 2**24
    elements where its float32 counts are exact; "sort" on CUDA under
    `torch.use_deterministic_algorithms(True)`, where histc has no kernel. None needs a host sync."""
    if method is None:
        method = "bincount" if not positions.is_cuda else "sort" if torch.are_deterministic_algorithms_enabled() else "histc"
    if method == "bincount":
        # -1 (and below) -> 0, sliced off; the int32 copy truncates toward zero like floor for positions >= 0
        index = workspace.get("index", torch.int32, positions.numel()).copy_(positions) if workspace else positions.to(torch.int32)
        index.clamp_(-1, bins - 1)
        # Consecutive values count into different lanes (bins + 1 counters each, summed after): when most
        # values share one bin, as the zeros of a pruned layer do, one counter would serialise every
        # increment; with 8 lanes bincount runs ~3x faster. Lane offsets include the +1 that moves -1 to 0.
        whole = index.numel() // BINCOUNT_LANES * BINCOUNT_LANES
        lanes = torch.arange(BINCOUNT_LANES, dtype=index.dtype, device=index.device) * (bins + 1) + 1
        index[:whole].view(-1, BINCOUNT_LANES).add_(lanes)
        index[whole:].add_(1)
        counts = torch.bincount(index, minlength=BINCOUNT_LANES * (bins + 1)).view(BINCOUNT_LANES, bins + 1).sum(0)
        return counts[1:].to(torch.float64)
    floored = torch.where(positions >= 0, positions.clamp(max=bins - 1).floor(), -1.0)
    if method == "sort":
        ordered = torch.sort(torch.where(floored >= 0, floored, float(bins))).values
        edges = torch.searchsorted(ordered, torch.arange(bins + 1, device=positions.device, dtype=ordered.dtype))
        return (edges[1:] - edges[:-1]).to(torch.float64)
    total = torch.zeros(bins, dtype=torch.float64, device=positions.device)
    for chunk in (floored + 0.5).split(FLOAT_COUNT_LIMIT - 1):
        total += torch.histc(chunk, bins=bins, min=0, max=bins).to(torch.float64)
    return total


def finite_values(values: torch.Tensor) -> tuple[torch.Tensor, int, float]:
    """(flat finite values, count of NaN/Inf, largest finite |value|).

    One min/max pass reveals NaN and Inf; only then is a filtered copy made."""
    flat = values.detach().reshape(-1)
    flat = flat.to(working_dtype(flat.dtype))  # fp16/bf16 weights: histc has no kernel for them everywhere
    if not flat.numel():
        return flat, 0, 0.0
    low, high = (float(x) for x in torch.aminmax(flat))
    nonfinite = 0
    if not (math.isfinite(low) and math.isfinite(high)):
        finite = torch.isfinite(flat)
        nonfinite = int(flat.numel() - finite.sum())
        flat = flat[finite]
        low, high = (float(x) for x in torch.aminmax(flat)) if flat.numel() else (0.0, 0.0)
    return flat, nonfinite, abs(max(-low, high))  # abs: all zeros give -0.0


def value_stats(values: torch.Tensor, current_range: tuple[float, float] | None, bins: int = DEFAULT_BINS,
                fixed_range: tuple[float, float] | None = None, workspace: Workspace | None = None) -> ValueStats:
    """Histogram of the finite non-zero `values` over a range widened (never narrowed) to fit them all,
    or over `fixed_range` when the caller has agreed one (across ranks).

    A min/max pass, a binning pass and histc; no boolean-indexed copy is made unless the tensor holds
    NaN or Inf.
    """
    flat, nonfinite, absmax = finite_values(values)
    lo, hi = fixed_range or widened_range(current_range, absmax)
    counts = count_positions(bin_positions(flat, lo, hi, bins, drop_zeros=False, workspace=workspace), bins, workspace=workspace)
    zeros = flat.numel() - int(count_set(flat))
    if zeros:
        # zeros were counted like any value: take them out of the very bin the same arithmetic put them in
        zero = bin_positions(torch.zeros(1, dtype=flat.dtype), lo, hi, bins, drop_zeros=False)
        counts[int(count_positions(zero, bins).argmax())] -= zeros
    counts = counts.long().tolist()
    return ValueStats(Histogram(lo=lo, hi=hi, counts=counts), nonfinite, sum(counts), absmax)
