"""One sample's per-layer measurements: on the host, on the weights' device without host syncs, or
combined across the ranks of a sharded model — exact in every case."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from .device_metrics import DeviceMetrics, LayerInput, PendingMeasurement
from .distributed import all_reduce
from .mask_snapshots import MaskSnapshots
from .metrics import Workspace, count_set, finite_values, value_stats, widened_range
from .records import Histogram, LayerSample
from .sources import LayerSource


def _layer_sample(source: LayerSource, nnz: int, hist: Histogram, nonfinite: int,
                  nbytes: Optional[int] = None, dense_bytes: Optional[int] = None) -> LayerSample:
    numel = source.info.numel
    return LayerSample(name=source.info.name, nnz=nnz, numel=numel, sparsity=1 - nnz / numel,
                       bytes=source.storage_bytes() if nbytes is None else nbytes,
                       dense_bytes=source.dense_bytes() if dense_bytes is None else dense_bytes,
                       hist=hist, nonfinite=nonfinite)


@dataclass
class Measurement:
    """A sample's layers; those measured on a device arrive with `complete()`, which waits only if the
    device copy has not landed yet."""

    sources: list[LayerSource]
    ready: dict[str, LayerSample]
    pending: Optional[PendingMeasurement] = None
    #: (source, dropped, grown) known on the host; device diffs travel inside `pending`
    changes: list[tuple[LayerSource, int, int]] = field(default_factory=list)
    device_diffs: list[LayerSource] = field(default_factory=list)
    agreed: tuple[float, ...] = ()

    def is_ready(self) -> bool:
        return self.pending is None or self.pending.ready()

    def complete(self) -> tuple[list[LayerSample], list[tuple[LayerSource, int, int]]]:
        layers = dict(self.ready)
        changes = list(self.changes)
        if self.pending is not None:
            by_name = {s.info.name: s for s in self.sources}
            results, extras = self.pending.results()
            for name, (nnz, nonfinite, hist) in results.items():
                layers[name] = _layer_sample(by_name[name], nnz, hist, nonfinite)
            for i, source in enumerate(self.device_diffs):
                changes.append((source, extras[2 * i], extras[2 * i + 1]))
        return [layers[s.info.name] for s in self.sources], [c for c in changes if c[1] or c[2]]


@torch.no_grad()
def measure_layers(
    sources: list[LayerSource],
    ranges: dict[str, tuple[float, float]],
    bins: int,
    *,
    device_metrics: Optional[DeviceMetrics] = None,
    snapshots: Optional[MaskSnapshots] = None,
    diff_layers: frozenset[str] = frozenset(),
    distributed: bool = False,
    agree_max: tuple[float, ...] = (),
    workspace: Optional[Workspace] = None,
) -> Measurement:
    """Measures every source; host bin ranges in `ranges` only widen.

    Sources whose values live on a CUDA device (or all that can, when `device_metrics` is forced on a
    CPU run) go through `device_metrics`: nothing waits for the device. Layers named in `diff_layers`
    are diffed against their last mask snapshot for inferred drop/grow counts.

    With `distributed`, every rank must call this at the same step: sharded sources are combined with
    one MAX all_reduce (bin ranges, plus the caller's `agree_max` values) and one SUM all_reduce (nnz,
    bytes, NaN/Inf and histogram counts over the agreed range).
    """
    sharded = [s for s in sources if distributed and getattr(s, "sharded", False)]
    sharded_ids = {id(s) for s in sharded}  # sets: a list membership test per layer is quadratic at 1000 layers
    measurement = Measurement(sources, {})
    if distributed:
        local = {id(s): finite_values(s.stored_values()) for s in sharded}
        reduced_max = all_reduce([local[id(s)][2] for s in sharded] + list(agree_max), "max")
        measurement.agreed = tuple(reduced_max[len(sharded):])
        sums: list[float] = []
        for source, absmax in zip(sharded, reduced_max):
            agreed_range = ranges[source.info.name] = widened_range(ranges.get(source.info.name), absmax)
            stats = value_stats(local[id(source)][0], None, bins, fixed_range=agreed_range)
            sums += [source.nnz(), source.storage_bytes(), source.dense_bytes(), local[id(source)][1], *stats.hist.counts]
        sums = all_reduce(sums, "sum")
        for i, source in enumerate(sharded):
            nnz, nbytes, dense_bytes, nonfinite, *counts = (int(v) for v in sums[i * (4 + bins):(i + 1) * (4 + bins)])
            lo, hi = ranges[source.info.name]
            measurement.ready[source.info.name] = _layer_sample(source, nnz, Histogram(lo, hi, counts), nonfinite, nbytes, dense_bytes)
    else:
        measurement.agreed = agree_max

    extras: list[torch.Tensor] = []
    on_device: list[LayerInput] = []
    for source in sources:
        name = source.info.name
        # a mask taken for the diff also gives the nnz (its set entries), sparing a second pass
        mask = source.mask() if snapshots is not None and name in diff_layers else None
        diff = snapshots.diff(name, mask) if mask is not None else None
        if id(source) in sharded_ids:
            if diff is not None:
                measurement.changes.append((source, int(diff[0]), int(diff[1])))
            continue
        device_capable = device_metrics is not None and hasattr(source, "nnz_tensor")
        # values measured later on the device must not share the host workspace
        values = source.stored_values(None if device_capable and device_metrics.forced else workspace)
        if device_capable and (device_metrics.forced or values.device.type == "cuda"):
            on_device.append(LayerInput(name, values, count_set(mask) if mask is not None else source.nnz_tensor()))
            if diff is not None:
                extras += diff
                measurement.device_diffs.append(source)
            continue
        if diff is not None:
            measurement.changes.append((source, int(diff[0]), int(diff[1])))
        stats = value_stats(values, ranges.get(name), bins, workspace=workspace)
        ranges[name] = (stats.hist.lo, stats.hist.hi)
        nnz = int(count_set(mask)) if mask is not None else source.nnz()
        measurement.ready[name] = _layer_sample(source, nnz, stats.hist, stats.nonfinite)
    if on_device:
        measurement.pending = device_metrics.start(on_device, extras)
    return measurement
