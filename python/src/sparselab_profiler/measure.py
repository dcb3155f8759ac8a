"""One sample's per-layer measurements: on the host, on the weights' device without host syncs, or
combined across the ranks of a sharded model — exact in every case."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import torch

from .device_metrics import DeviceMetrics, LayerInput, PendingMeasurement
from .distributed import all_reduce
from .mask_history import MaskHistory, Observation
from .metrics import Workspace, count_set, finite_values, value_stats, widened_range
from .records import Histogram, LayerSample
from .sources import LayerSource

#: an inferred topology change: (source, dropped, grown, regrown or None)
Change = tuple[LayerSource, int, int, Optional[int]]
_COUNTS = ("active_ever", "changed", "dropped", "grown", "regrown")


def _layer_sample(source: LayerSource, nnz: int, hist: Histogram, nonfinite: int, absmax: float,
                  counts: Optional[dict[str, Optional[int]]] = None,
                  nbytes: Optional[int] = None, dense_bytes: Optional[int] = None) -> LayerSample:
    numel = source.info.numel
    capacity = getattr(source, "capacity", None)
    counts = counts or {}
    return LayerSample(name=source.info.name, nnz=nnz, numel=numel, sparsity=1 - nnz / numel,
                       bytes=source.storage_bytes() if nbytes is None else nbytes,
                       dense_bytes=source.dense_bytes() if dense_bytes is None else dense_bytes,
                       hist=hist, nonfinite=nonfinite, active_ever=counts.get("active_ever"),
                       mask_changed=counts.get("changed"), absmax=float(absmax),
                       capacity=capacity() if capacity is not None else None)


def _resolved(observation: Optional[Observation]) -> dict[str, Optional[int]]:
    """The observation's counts as ints (host tensors, or device ones the host path has synced anyway)."""
    if observation is None:
        return {}
    values = {name: getattr(observation, name) for name in _COUNTS}
    return {name: None if value is None else int(value) for name, value in values.items()}


@dataclass
class _Slot:
    """A count travelling in the device copy, at this index of its extras."""

    index: int


def _deferred(observation: Optional[Observation], extras: list[torch.Tensor]) -> dict[str, Union[int, _Slot, None]]:
    """The observation's counts, each tensor appended to `extras` (read with the sample's one copy) and
    replaced by its slot there; plain ints stay as they are."""
    out: dict[str, Union[int, _Slot, None]] = {}
    for name in _COUNTS:
        value = getattr(observation, name) if observation is not None else None
        if isinstance(value, torch.Tensor):
            extras.append(value)
            value = _Slot(len(extras) - 1)
        out[name] = value
    return out


def _change(source: LayerSource, counts: dict) -> Optional[Change]:
    if counts.get("dropped") is None:
        return None
    return (source, counts["dropped"], counts["grown"], counts["regrown"])


@dataclass
class Measurement:
    """A sample's layers; those measured on a device arrive with `complete()`, which waits only if the
    device copy has not landed yet."""

    sources: list[LayerSource]
    ready: dict[str, LayerSample]
    pending: Optional[PendingMeasurement] = None
    #: inferred changes known on the host; device ones travel inside `pending`
    changes: list[Change] = field(default_factory=list)
    #: per device-measured layer, its mask-history counts (ints, or slots in the pending copy's extras)
    device_counts: dict[str, dict[str, Union[int, _Slot, None]]] = field(default_factory=dict)
    agreed: tuple[float, ...] = ()

    def is_ready(self) -> bool:
        return self.pending is None or self.pending.ready()

    def complete(self) -> tuple[list[LayerSample], list[Change]]:
        layers = dict(self.ready)
        changes = list(self.changes)
        if self.pending is not None:
            by_name = {s.info.name: s for s in self.sources}
            results, extras = self.pending.results()
            for name, (nnz, nonfinite, hist, absmax) in results.items():
                counts = {k: extras[v.index] if isinstance(v, _Slot) else v for k, v in self.device_counts.get(name, {}).items()}
                layers[name] = _layer_sample(by_name[name], nnz, hist, nonfinite, absmax, counts)
                change = _change(by_name[name], counts)
                if change is not None:
                    changes.append(change)
        return [layers[s.info.name] for s in self.sources], [c for c in changes if c[1] or c[2]]


@torch.no_grad()
def measure_layers(
    sources: list[LayerSource],
    ranges: dict[str, tuple[float, float]],
    bins: int,
    *,
    device_metrics: Optional[DeviceMetrics] = None,
    history: Optional[MaskHistory] = None,
    diff_layers: frozenset[str] = frozenset(),
    hooked_layers: frozenset[str] = frozenset(),
    distributed: bool = False,
    agree_max: tuple[float, ...] = (),
    workspace: Optional[Workspace] = None,
) -> Measurement:
    """Measures every source; host bin ranges in `ranges` only widen.

    Sources whose values live on a CUDA device (or all that can, when `device_metrics` is forced on a
    CPU run) go through `device_metrics`: nothing waits for the device. With a `history`, layers named in
    `diff_layers` (a mask, no update hook) are diffed against their previous mask for inferred drop/grow
    counts, and those in `hooked_layers` (a mask, updates reported to the history by a hook) are read only
    when an update touched them; both give active_ever and mask_changed where the mask is declared.

    With `distributed`, every rank must call this at the same step: sharded sources are combined with
    one MAX all_reduce (bin ranges and absmax, plus the caller's `agree_max` values) and one SUM all_reduce
    (nnz, bytes, NaN/Inf and histogram counts over the agreed range). Their mask is a shard: no mask history.
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
            measurement.ready[source.info.name] = _layer_sample(source, nnz, Histogram(lo, hi, counts), nonfinite,
                                                                reduced_max[i], nbytes=nbytes, dense_bytes=dense_bytes)
    else:
        measurement.agreed = agree_max

    extras: list[torch.Tensor] = []
    on_device: list[LayerInput] = []
    for source in sources:
        name = source.info.name
        whole = id(source) not in sharded_ids
        observation = None
        if history is not None and (name in diff_layers or name in hooked_layers):
            version = getattr(source, "mask_version", None)
            observation = history.observe(
                name, source.mask, hooked=name in hooked_layers, regrowth=whole,
                explored=whole and source.info.mask_source != "inferred_zeros",
                version=version() if version is not None else None)
        # a mask read for the history also gives the nnz (its set entries), sparing a second pass
        mask = observation.mask if observation is not None else None
        if not whole:
            change = _change(source, _resolved(observation))
            if change is not None:
                measurement.changes.append(change)
            continue
        device_capable = device_metrics is not None and hasattr(source, "nnz_tensor")
        # values measured later on the device must not share the host workspace
        values = source.stored_values(None if device_capable and device_metrics.forced else workspace)
        if device_capable and (device_metrics.forced or values.device.type == "cuda"):
            on_device.append(LayerInput(name, values, count_set(mask) if mask is not None else source.nnz_tensor()))
            if observation is not None:
                measurement.device_counts[name] = _deferred(observation, extras)
            continue
        counts = _resolved(observation)
        change = _change(source, counts)
        if change is not None:
            measurement.changes.append(change)
        stats = value_stats(values, ranges.get(name), bins, workspace=workspace)
        ranges[name] = (stats.hist.lo, stats.hist.hi)
        nnz = int(count_set(mask)) if mask is not None else source.nnz()
        measurement.ready[name] = _layer_sample(source, nnz, stats.hist, stats.nonfinite, stats.absmax, counts)
    if on_device:
        measurement.pending = device_metrics.start(on_device, extras)
    return measurement
