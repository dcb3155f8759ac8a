"""One sample's per-layer measurements: on the host, on the weights' device without host syncs, or
combined across the ranks of a sharded model — exact in every case.

On the host a sample is meant to cost a few plain read passes over the weights (bench/sample_cost.py): each
source hands over its stored values and the positions of the live ones (`LiveValues`, cached while its mask is
unchanged, so an unchanged mask is not read at all), and `live_stats` measures them in one pass of L2-sized
blocks, with every count, range and histogram bin exactly what `metrics.value_stats` gives."""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np
import torch

from .device_metrics import DeviceMetrics, LayerInput, PendingMeasurement
from .distributed import all_reduce
from .mask_history import MaskHistory, Observation
from .metrics import (
    BINCOUNT_LANES,
    ValueStats,
    Workspace,
    count_set,
    finite_values,
    value_stats,
    widened_range,
    working_dtype,
)
from .records import Histogram, LayerSample, gc_paused
from .sources import LayerSource
from .sources.base import LiveValues

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
    o = observation
    return {"active_ever": _int(o.active_ever), "changed": _int(o.changed), "dropped": _int(o.dropped),
            "grown": _int(o.grown), "regrown": _int(o.regrown)}


def _int(value: Union[torch.Tensor, int, None]) -> Optional[int]:
    return value if value is None or type(value) is int else int(value)


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


#: values measured per block: a block's two buffers (its values, then their bin positions; their magnitudes, then
#: their bin indices: 8 bytes a value) stay in a core's L2 cache through every step, so only the gather of the
#: weights themselves goes to memory (passes over a packed buffer the size of the model cost more than that read)
BLOCK_VALUES = 1 << 17


def _buffer(workspace: Optional[Workspace], purpose: str, dtype: torch.dtype, n: int) -> tuple[torch.Tensor, np.ndarray]:
    """At least `n` elements, and their numpy view."""
    if workspace is not None:
        return workspace.host(purpose, dtype, n)
    buffer = torch.empty(n, dtype=dtype)
    return buffer, buffer.numpy()


def _zero_bin(lo: float, hi: float, bins: int, dtype: torch.dtype) -> int:
    """The bin 0.0 lands in: `_bin_block`'s arithmetic (bin_positions', in the working dtype) on one value."""
    scalar = np.float64 if dtype == torch.float64 else np.float32
    return min(int((scalar(0.0) - scalar(lo)) * scalar(bins / (hi - lo))), bins - 1)


def _live_count(live: LiveValues) -> int:
    return live.index.numel() if live.index is not None else live.values.numel()


def _gathered(live: LiveValues) -> torch.Tensor:
    return live.values if live.index is None else live.values.index_select(0, live.index)


def _as_int(magnitudes: np.ndarray) -> np.ndarray:
    """|v| as integers of its width: exactly the zeros are 0 (|-0.0| is +0.0), so an integer count_nonzero,
    ~5x faster than the float one, counts the non-zeros."""
    return magnitudes.view(np.int64 if magnitudes.dtype == np.float64 else np.int32)


def _runs(sizes: list[int]) -> list[tuple[int, int, int, int]]:
    """(first, count, size, first value) of each run of equally sized consecutive segments."""
    runs = []
    start = 0
    for k, n in enumerate(sizes):
        if runs and runs[-1][2] == n:
            first, count, _, at = runs[-1]
            runs[-1] = (first, count + 1, n, at)
        else:
            runs.append((k, 1, n, start))
        start += n
    return runs


@dataclass(eq=False)
class _Layer:
    """One layer's running figures across the blocks its live values span."""

    live: LiveValues
    n: int
    #: the bin range it is binned with: its current range (None: unknown yet, so nothing is binned)
    spec: Optional[tuple[float, float]]
    bins: int
    absmax: float = 0.0
    finite: bool = True
    #: every block binned it with `spec` (no value past it)
    binned: bool = True
    zeros: int = 0
    counts: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        self.counts = np.zeros(self.bins + 1, dtype=np.int64)


def live_stats(lives: list[LiveValues], current_ranges: list[Optional[tuple[float, float]]], bins: int,
               workspace: Optional[Workspace] = None) -> list[ValueStats]:
    """`value_stats` of each layer's live values, bin for bin, in one pass over them in L2-sized blocks.

    A layer's bin range only widens (`widened_range`), so its current range is the range of this sample unless a
    value now lies past it. Each block of live values (a gather from the weights, small layers side by side, a
    large one in several blocks) is binned at once with the current ranges: the min/max of its magnitudes, then
    the very arithmetic of `bin_positions` (subtract, scale: one IEEE rounding each, in the working dtype) and a
    truncation to integers, each layer's bins offset within the block, and one bincount. Finite values inside
    the symmetric range only land in 0..bins, so nothing is clamped (the top edge, `bins`, is folded into the
    last bin, as `count_positions` clamps it). A smallest |v| above 0 says no live value is zero, sparing a
    count. A layer with no range yet (its first sample) or a value past it takes its new range from the block's
    min/max before the binning when the block holds all of its values; spread over several blocks, it is binned
    again once its min/max, known after the pass, fixes the range. NaN or Inf, rarely present, take
    `value_stats`'s filtering path.
    """
    out: list[Optional[ValueStats]] = [None] * len(lives)
    by_dtype: dict[torch.dtype, list[int]] = {}
    for i, live in enumerate(lives):
        if _live_count(live) == 0 or live.values.device.type != "cpu":
            out[i] = value_stats(_gathered(live), current_ranges[i], bins, workspace=workspace)
        else:
            by_dtype.setdefault(working_dtype(live.values.dtype), []).append(i)
    for dtype, members in by_dtype.items():
        states = {i: _Layer(lives[i], _live_count(lives[i]), current_ranges[i], bins) for i in members}
        _bin_blocks(list(states.values()), bins, dtype, workspace)
        again = {}
        for i, state in states.items():
            if not state.finite:
                out[i] = value_stats(_gathered(lives[i]), current_ranges[i], bins, workspace=workspace)
                continue
            exact = widened_range(current_ranges[i], state.absmax)
            if state.binned and state.spec == exact:
                out[i] = _finish(state, dtype)
            else:  # its first range, or a widened one: binned again with it (the same values: all fit now)
                again[i] = _Layer(lives[i], state.n, exact, bins)
        if again:
            _bin_blocks(list(again.values()), bins, dtype, workspace)
            for i, state in again.items():
                out[i] = _finish(state, dtype) if state.binned and state.finite else \
                    value_stats(_gathered(lives[i]), current_ranges[i], bins, workspace=workspace)
    return out


def _finish(state: _Layer, dtype: torch.dtype) -> ValueStats:
    lo, hi = state.spec
    bins = state.bins
    counts = state.counts.tolist()
    counts[bins - 1] += counts.pop()  # `hi` itself is in the last bin
    zeros = state.live.zeros if state.live.zeros is not None else state.zeros
    if zeros:
        counts[_zero_bin(lo, hi, bins, dtype)] -= zeros  # zeros were binned like any value
    return ValueStats(Histogram(lo=lo, hi=hi, counts=counts), 0, sum(counts), state.absmax)


def _bin_blocks(states: list[_Layer], bins: int, dtype: torch.dtype, workspace: Optional[Workspace]) -> None:
    """Every layer's live values, block by block: a segment is a layer's values within one block."""
    capacity = min(BLOCK_VALUES, sum(state.n for state in states))
    buffer = _buffer(workspace, "live", dtype, capacity)
    scratch = _buffer(workspace, "scratch", dtype, capacity)[1]
    segments: list[tuple[_Layer, int, int]] = []
    filled = 0
    for state in states:
        start = 0
        while start < state.n:
            take = min(state.n - start, capacity - filled)
            segments.append((state, start, start + take))
            filled += take
            start += take
            if filled == capacity:
                _bin_block(segments, filled, buffer, scratch, bins, dtype)
                segments, filled = [], 0
    if segments:
        _bin_block(segments, filled, buffer, scratch, bins, dtype)


def _bin_block(segments: list[tuple[_Layer, int, int]], total: int, buffer: tuple[torch.Tensor, np.ndarray],
               scratch: np.ndarray, bins: int, dtype: torch.dtype) -> None:
    # the live values, packed
    values, flat = buffer
    at = 0
    for state, a, b in segments:
        live, out = state.live, values[at:at + b - a]
        if live.index is None:
            out.copy_(live.values[a:b])
        else:
            index = live.index if b - a == state.n else live.index[a:b]
            if live.values.dtype != dtype:
                out.copy_(live.values.index_select(0, index))  # fp16 / bf16: upcast, as value_stats bins them
            elif index.dtype == torch.int64:
                torch.take(live.values, index, out=out)  # parallel over the intra-op threads
            else:  # a SparseLab layer's int32 slots: 4 bytes a live slot kept, half what SparseLab stores per slot
                torch.index_select(live.values, 0, index, out=out)
        at += b - a
    flat = flat[:total]  # numpy over the block: a fraction of torch's cost per call, the same IEEE ops
    magnitudes = np.abs(flat, out=scratch[:total])
    sizes = [b - a for _, a, b in segments]
    runs = _runs(sizes)  # a run of equal segments is one (segments x size) view: one call for all of them
    starts = list(itertools.accumulate(sizes[:-1], initial=0))
    smallest = np.minimum.reduceat(magnitudes, starts).tolist()  # one call for segments of any sizes
    largest = np.maximum.reduceat(magnitudes, starts).tolist()
    width = bins + 1
    apart = len(segments) * width  # past every segment's bins: where a segment left out is counted, unread
    lows, scales, offsets = [], [], []
    crowded = 0
    start = 0
    for j, (state, a, b) in enumerate(segments):
        low, high, end = smallest[j], largest[j], start + b - a
        if not math.isfinite(high):  # NaN propagates through the min/max, Inf is its own max
            state.finite = state.binned = False
        else:
            state.absmax = max(state.absmax, high)
            if state.spec is None or high > state.spec[1]:
                if b - a == state.n:  # the whole layer is in this block: its range is known now
                    state.spec = widened_range(state.spec, high)
                else:
                    state.binned = False  # past its range: binned again once the range is known
        if not state.binned:
            flat[start:end] = 0  # out of the arithmetic below (no NaN, no index out of range); its bins go unread
            lows.append(0.0)
            scales.append(0.0)
            offsets.append(apart)
        else:
            if state.live.zeros is None and low == 0:
                state.zeros += (end - start) - int(np.count_nonzero(_as_int(magnitudes[start:end])))
            elif state.live.zeros:
                crowded += (end - start) * state.live.zeros // state.n
            lo, hi = state.spec
            lows.append(lo)
            scales.append(bins / (hi - lo))
            offsets.append(j * width)
        start = end
    scalar = np.float64 if dtype == torch.float64 else np.float32
    lows, scales = np.array(lows, dtype=scalar)[:, None], np.array(scales, dtype=scalar)[:, None]
    for first, count, n, start in runs:
        rows = flat[start:start + count * n].reshape(count, n)
        np.subtract(rows, lows[first:first + count], out=rows)  # bin_positions' arithmetic
        np.multiply(rows, scales[first:first + count], out=rows)
    groups = len(segments) + (apart in offsets)  # a group past the segments' only for those left out
    lanes = BINCOUNT_LANES if crowded * 2 > total else 1
    # over the magnitudes, no longer needed; one byte a value where every bin fits in it: bincount's fastest input
    narrow = lanes * groups * width <= 256
    positions = scratch.view(np.uint8 if narrow else np.int32)[:total]
    np.copyto(positions, flat, casting="unsafe")  # truncation: floor, as all are >= 0
    offsets = np.array(offsets, dtype=positions.dtype)[:, None]
    for first, count, n, start in runs:
        if count > 1 or offsets[first, 0]:
            positions[start:start + count * n].reshape(count, n)[...] += offsets[first:first + count]
    if lanes > 1:
        # most values share a zero's bin: interleaved counters, or one counter serialises every increment
        whole = total // lanes * lanes
        positions[:whole].reshape(-1, lanes)[...] += np.arange(lanes, dtype=positions.dtype) * (groups * width)
    counted = torch.bincount(torch.from_numpy(positions), minlength=lanes * groups * width).numpy()
    if counted.size != lanes * groups * width:  # a value past its range: cannot happen, but never a wrong histogram
        for state, _, _ in segments:
            state.binned = False
        return
    table = counted.reshape(lanes, groups, width).sum(0) if lanes > 1 else counted.reshape(groups, width)
    for j, (state, _, _) in enumerate(segments):
        if state.binned:
            state.counts += table[j]


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


def _paused(fn):
    """`fn` with autograd off (a gather out= a weight that requires grad) and the cyclic GC paused; plain calls,
    as torch.no_grad()'s decorator machinery costs ~15 us a sample with caches a training step left cold."""
    @functools.wraps(fn)
    def paused(*args, **kwargs):
        grad = torch.is_grad_enabled()
        torch.set_grad_enabled(False)
        try:
            with gc_paused():
                return fn(*args, **kwargs)
        finally:
            torch.set_grad_enabled(grad)
    return paused


@_paused
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

    The cyclic GC is paused meanwhile (`gc_paused`): the sample's objects are freed by reference counting.
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
    on_host: list[tuple[LayerSource, LiveValues, dict]] = []
    for source in sources:
        name = source.info.name
        whole = id(source) not in sharded_ids
        observation = None
        if history is not None and (name in diff_layers or name in hooked_layers):
            version = getattr(source, "mask_version", None)
            observation = history.observe(
                name, source.mask, hooked=name in hooked_layers, regrowth=whole,
                explored=whole and source.info.mask_source != "inferred_zeros",
                version=version() if version is not None else None, read_bits=getattr(source, "live_bits", None))
        # a mask read for the history also gives the nnz (its set entries), sparing a second pass
        mask = observation.mask if observation is not None else None
        if not whole:
            change = _change(source, _resolved(observation))
            if change is not None:
                measurement.changes.append(change)
            continue
        device_capable = device_metrics is not None and hasattr(source, "nnz_tensor")
        live = None
        if not (device_capable and device_metrics.forced) and hasattr(source, "live_values"):
            live = source.live_values(mask)  # None: not on the host, measured below as before
        if live is None:
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
        if live is not None:  # measured with the other host layers, below
            on_host.append((source, live, counts))
            continue
        stats = value_stats(values, ranges.get(name), bins, workspace=workspace)
        ranges[name] = (stats.hist.lo, stats.hist.hi)
        nnz = int(count_set(mask)) if mask is not None else source.nnz()
        measurement.ready[name] = _layer_sample(source, nnz, stats.hist, stats.nonfinite, stats.absmax, counts)
    if on_host:
        all_stats = live_stats([live for _, live, _ in on_host], [ranges.get(s.info.name) for s, _, _ in on_host], bins, workspace)
        for (source, live, counts), stats in zip(on_host, all_stats):
            ranges[source.info.name] = (stats.hist.lo, stats.hist.hi)
            measurement.ready[source.info.name] = _layer_sample(source, live.nnz, stats.hist, stats.nonfinite, stats.absmax, counts)
    if on_device:
        measurement.pending = device_metrics.start(on_device, extras)
    return measurement
