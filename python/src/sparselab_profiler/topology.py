"""Exact drop/grow counts for SparseLab algorithms and rigl-torch, observed by wrapping each layer update;
the positions each update moved also go to the mask history (active ever, regrowth)."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from .mask_history import MaskHistory, popcount, row_counts
from .records import AlgorithmInfo
from .sources import RigLTorchSource, SparseLabLayerSource


@dataclass
class TopologyChange:
    layer: str
    dropped: int
    grown: int
    requested_drop: Optional[int]
    algorithm: str
    #: time the profiler spent observing this change, in milliseconds
    cost_ms: float = 0.0
    #: per output row, how many connections were dropped / grown (where the algorithm acted)
    dropped_rows: Optional[list[int]] = None
    grown_rows: Optional[list[int]] = None
    #: how many grown positions the layer's previous update had dropped (None: no earlier drop observed)
    regrown: Optional[int] = None


def describe_algorithm(algorithm: object) -> AlgorithmInfo:
    """Name and scalar hyper-parameters of a SparseLab algorithm or a rigl-torch scheduler, for the run record."""
    params = {}
    for key in ("sparsity", "drop_fraction", "update_freq", "dense_allocation", "delta_T", "alpha", "T_end"):
        value = getattr(algorithm, key, None)
        if isinstance(value, (int, float, str, bool)):
            params[key] = value
    return AlgorithmInfo(name=type(algorithm).__name__, params=params)


def _replace_method(owner: object, name: str, wrapper: Callable) -> Callable[[], None]:
    """Shadows `owner.name` with `wrapper` on this instance only; returns what puts the original back."""
    setattr(owner, name, wrapper)

    def unhook() -> None:
        if owner.__dict__.get(name) is wrapper:
            delattr(owner, name)
    return unhook


def hook_sparselab_algorithm(
    algorithm: object,
    sources: list[SparseLabLayerSource],
    on_change: Callable[[TopologyChange], None],
    on_error: Callable[[BaseException], None],
    history: Optional[MaskHistory] = None,
) -> Callable[[], None]:
    """Wraps the instance's `_update_layer` so every update reports its exact per-layer topology change
    (and, given a `history`, the positions it moved).

    SparseLab's SET and RigL rewrite a layer's rows inside `_update_layer(layer, rng)`; comparing the
    live positions around that call counts exactly what changed, without modifying SparseLab. Returns
    a function that removes the wrapper. Errors of the profiler's own work go to `on_error`; the
    algorithm's own errors propagate unchanged.
    """
    original = getattr(algorithm, "_update_layer", None)
    if original is None:
        return lambda: None
    by_layer = {id(s.layer): s for s in sources}

    @functools.wraps(original)
    def update_layer(layer, *args, **kwargs):
        source = by_layer.get(id(layer))
        before = None
        if source is not None:
            try:
                started = time.perf_counter()
                before = source.live_bits()  # kept since the layer's last update or sample: no read
                cost = time.perf_counter() - started
            except Exception as error:  # the profiler must never break the algorithm
                on_error(error)
        result = original(layer, *args, **kwargs)
        if before is not None:
            try:
                started = time.perf_counter()
                after = source.live_bits()
                dropped, grown = before & ~after, after & ~before
                drop_fraction = getattr(algorithm, "drop_fraction", None)
                had = popcount(before)
                # SparseLab drops max(1, int(drop_fraction * nnz)) per layer before ties and row guards.
                requested = max(1, int(drop_fraction * had)) if isinstance(drop_fraction, float) and had else None
                nrows, ncols = source.info.shape
                regrown = history.record_update_bits(source.info.name, dropped, grown) if history is not None else None
                n_dropped, n_grown = popcount(dropped), popcount(grown)
                dropped_rows, grown_rows = row_counts(dropped, nrows, ncols), row_counts(grown, nrows, ncols)
                cost_ms = (cost + time.perf_counter() - started) * 1000  # the counts too: all in the training thread
                on_change(TopologyChange(source.info.name, n_dropped, n_grown, requested, type(algorithm).__name__,
                                         cost_ms, dropped_rows, grown_rows, regrown))
            except Exception as error:
                on_error(error)
        return result

    return _replace_method(algorithm, "_update_layer", update_layer)


def _rows(mask: torch.Tensor) -> list[int]:
    """Set entries per output row (dim 0) of a weight-shaped mask."""
    return mask.reshape(mask.shape[0], -1).sum(1).tolist()


def hook_rigl_torch_scheduler(
    scheduler: object,
    sources: list[RigLTorchSource],
    on_change: Callable[[TopologyChange], None],
    on_error: Callable[[BaseException], None],
    history: Optional[MaskHistory] = None,
) -> Callable[[], None]:
    """Wraps the instance's `_rigl_step` to report each layer's exact drop and grow counts (and, given a
    `history`, the positions each moved).

    rigl-torch plans `int(n_ones * drop_fraction)` drops per layer and as many grows (reported as
    `requested`), but it may regrow a position it just dropped: that connection never left the topology.
    The exact counts are the masks' difference across the step: positions live before and not after
    (dropped), and live after but not before (grown).
    """
    original = scheduler._rigl_step
    by_index = {s.index: s for s in sources}

    @functools.wraps(original)
    def rigl_step(*args, **kwargs):
        before = []
        try:
            started = time.perf_counter()
            drop_fraction = scheduler.cosine_annealing()  # the value _rigl_step computes for this step
            for index, source in by_index.items():
                mask = scheduler.backward_masks[index].detach().bool().clone()
                before.append((index, source, mask, int(int(mask.sum()) * drop_fraction)))
            cost = time.perf_counter() - started
        except Exception as error:  # the profiler must never break the scheduler
            on_error(error)
        result = original(*args, **kwargs)
        for index, source, was, requested in before:
            try:
                started = time.perf_counter()
                now = scheduler.backward_masks[index].detach().bool()
                dropped, grown = was & ~now, now & ~was
                regrown = history.record_update(source.info.name, dropped, grown) if history is not None else None
                n_dropped, n_grown, dropped_rows, grown_rows = int(dropped.sum()), int(grown.sum()), _rows(dropped), _rows(grown)
                cost_ms = (cost / len(before) + time.perf_counter() - started) * 1000  # the counts too
                on_change(TopologyChange(source.info.name, n_dropped, n_grown, requested,
                                         type(scheduler).__name__, cost_ms, dropped_rows, grown_rows, regrown))
            except Exception as error:
                on_error(error)
        return result

    return _replace_method(scheduler, "_rigl_step", rigl_step)
