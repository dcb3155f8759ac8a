"""One sample's per-layer measurements, exact on one process and across the ranks of a sharded model."""

from __future__ import annotations

import torch

from .distributed import all_reduce
from .metrics import finite_values, value_stats, widened_range
from .records import Histogram, LayerSample
from .sources import LayerSource


def _sample(source: LayerSource, nnz: int, nbytes: int, dense_bytes: int, hist: Histogram, nonfinite: int) -> LayerSample:
    numel = source.info.numel
    return LayerSample(name=source.info.name, nnz=nnz, numel=numel, sparsity=1 - nnz / numel, bytes=nbytes,
                       dense_bytes=dense_bytes, hist=hist, nonfinite=nonfinite)


@torch.no_grad()
def measure_layers(
    sources: list[LayerSource],
    ranges: dict[str, tuple[float, float]],
    bins: int,
    distributed: bool = False,
    agree_max: tuple[float, ...] = (),
) -> tuple[list[LayerSample], tuple[float, ...]]:
    """Measures every source; updates `ranges` (they only widen).

    With `distributed`, every rank must call this at the same step: sharded sources are combined with
    one MAX all_reduce (bin ranges, plus the caller's `agree_max` values) and one SUM all_reduce (nnz,
    bytes, NaN/Inf and histogram counts over the agreed range). Returns the samples and `agree_max`
    reduced over ranks.
    """
    sharded = [s for s in sources if distributed and getattr(s, "sharded", False)]
    local = {id(s): finite_values(s.stored_values()) for s in sharded}
    if distributed:
        reduced_max = all_reduce([local[id(s)][2] for s in sharded] + list(agree_max), "max")
        absmax, agree_max = reduced_max[:len(sharded)], tuple(reduced_max[len(sharded):])
        agreed = {}
        for source, m in zip(sharded, absmax):
            agreed[id(source)] = ranges[source.info.name] = widened_range(ranges.get(source.info.name), m)
        sums: list[float] = []
        for source in sharded:
            stats = value_stats(local[id(source)][0], None, bins, fixed_range=agreed[id(source)])
            sums += [source.nnz(), source.storage_bytes(), source.dense_bytes(), local[id(source)][1], *stats.hist.counts]
        sums = all_reduce(sums, "sum")

    samples = []
    for source in sources:
        name = source.info.name
        if source in sharded:
            offset = sharded.index(source) * (4 + bins)
            nnz, nbytes, dense_bytes, nonfinite, *counts = (int(v) for v in sums[offset:offset + 4 + bins])
            lo, hi = ranges[name]
            samples.append(_sample(source, nnz, nbytes, dense_bytes, Histogram(lo, hi, counts), nonfinite))
            continue
        stats = value_stats(source.stored_values(), ranges.get(name), bins)
        ranges[name] = (stats.hist.lo, stats.hist.hi)
        samples.append(_sample(source, source.nnz(), source.storage_bytes(), source.dense_bytes(), stats.hist, stats.nonfinite))
    return samples, agree_max
