"""Plugin metrics: user-defined per-layer numbers computed at each sample, on top of the built-in ones.

A metric is a function ``fn(name, weight, mask) -> number``, registered under a name with
``SparsityProfilerCallback(metrics={...})`` or ``@profiler.metric("name")``. At every sample the profiler calls
each one for every profiled layer (rank 0 only: the others record nothing) and the layer's sample carries
``metrics: {name: value}``, ``null`` where the function returned NaN or ±Inf.

What a function receives, per source. One convention for all: ``weight`` is the layer's effective dense
weight, the tensor its forward computes with, in the layer's own shape, dtype and device; ``mask`` is a bool
tensor of that shape (True: a live, structurally non-zero position) where the source declares one, and
``weight`` is zero wherever ``mask`` is False.

=====================  =================================================  ===========================================
source                 ``weight``                                         ``mask``
=====================  =================================================  ===========================================
dense ``nn.Linear``,   the parameter itself (detached, no copy)           None: a dense layer declares no mask; its
``Conv`` …                                                                zeros are inferred, not structural
SparseLab              a dense (out, in) tensor built for the call: the   the live connections (the CSR's row_nnz
``SparseLinear``       CSR's live values scattered into zeros             and col_indices); a live weight may be 0.0
``torch.nn.utils.      ``<name>_orig * <name>_mask`` (fresh), never the   ``<name>_mask != 0``
prune``                stale ``module.<name>``
mask parametrization   ``original * mask`` (fresh)                        the parametrization's mask, broadcast to
(``torch.ao.pruning``)                                                    the weight's shape
rigl-torch             ``weight * backward_mask`` (fresh)                 the scheduler's ``backward_masks`` entry
COO / CSR tensors      ``to_dense()``                                     the stored positions (explicit zeros
                                                                          included, as nnz counts them)
2:4 semi-structured    ``to_dense()``                                     None: the kept positions are not read back
=====================  =================================================  ===========================================

Both are valid during the call only, and a function must not modify them (a dense layer's ``weight`` is its
training parameter). Sharded layers (FSDP, DTensor) are left out, with one warning: a function of the whole
weight cannot be computed from the shard one rank holds.

Why a dense view for SparseLab rather than the CSR's live values: one convention for every source lets one
function serve a model that mixes them (``weight[mask].abs().mean()``, ``mask.sum()``, a per-row norm), and
the shapes a function sees do not change with the storage. The price is O(numel) instead of O(nnz): a
zero-filled weight (4 bytes per position) and mask (1 byte), one layer at a time, freed after the call, from
the live slots the source caches until SparseLab bumps ``topology_version``. Measured on one CPU thread:
about 0.08 ms for a 256×256 layer and 0.6 ms for 1024×1024, less than a simple function then spends on the
view (``(weight.abs() * mask).sum() / mask.sum()``: 1.4 ms at 1024×1024), and of the order of what the
profiler already spends on a dense layer of that size. It is built only while a metric is registered, and
counts in ``cost_ms`` like the rest, so the adaptive sampler widens the interval if it costs too much.

A function returns a Python number or a one-element real tensor. A tensor on an accelerator is never read per
layer: every layer's results on one device are stacked there and reach the host with one non-blocking copy,
read when the sample is written (as the built-in device metrics are). A function that raises, or returns
anything else, is disabled with one RuntimeWarning naming it and the error; it is left out of that sample and
every later one, and training, the profiler and the other metrics go on. All of it counts in the sample's
``cost_ms``, so the overhead budget covers it.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping
from typing import Callable, Iterable, Optional, Union

import numpy as np
import torch

from .options import limit_option
from .records import MAX_METRICS, MAX_SCALAR_NAME_CHARS
from .sources import (
    DenseWeightSource,
    LayerSource,
    NativeSparseSource,
    ParametrizedMaskSource,
    RigLTorchSource,
    SemiStructuredSource,
    SparseLabLayerSource,
    TorchPruneSource,
)

#: fn(layer name, weight, mask or None) -> a number or a one-element real tensor
MetricFn = Callable[[str, torch.Tensor, Optional[torch.Tensor]], object]

# Frames from the warning up to the user's attach() / step() / close() call: _disable → compute → _sample →
# _attach / _on_step / _finish → _guard → the public method → the caller.
_WARN_STACKLEVEL = 7


def check_name(name: object) -> str:
    """A metric name as the wire takes it: a string of 1 to MAX_SCALAR_NAME_CHARS characters."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_SCALAR_NAME_CHARS:
        raise ValueError(f"a metric name must be a string of 1 to {MAX_SCALAR_NAME_CHARS} characters, got {name!r}")
    return name


def weight_and_mask(source: LayerSource) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """What a metric function receives for `source` (the table in this module's docstring)."""
    if isinstance(source, DenseWeightSource):
        return source._local(), None
    if isinstance(source, SparseLabLayerSource):
        return _sparselab_dense(source)
    if isinstance(source, (TorchPruneSource, ParametrizedMaskSource, RigLTorchSource)):
        # the dense weight times its mask, as the forward computes it; no workspace: a fresh tensor each call
        return source.stored_values(None), source.mask()
    if isinstance(source, NativeSparseSource):
        return _native_sparse_dense(source._weight)
    if isinstance(source, SemiStructuredSource):
        return source._weight.to_dense(), None
    # a source of another kind: its stored values, and its mask when it has one
    mask = source.mask() if hasattr(source, "mask") else None
    return source.stored_values(None), mask


def _sparselab_dense(source: SparseLabLayerSource) -> tuple[torch.Tensor, torch.Tensor]:
    csr = source.layer._csr
    nrows, ncols = int(csr.nrows), int(csr.ncols)
    positions = source.live_positions()
    values = source.stored_values(None).numpy()  # the live slots, in the order live_positions() lists them
    # numpy scatters into fresh zeros about twice as fast as torch's index_put_ on the CPU
    weight = np.zeros(nrows * ncols, dtype=values.dtype)
    weight[positions] = values
    mask = np.zeros(nrows * ncols, dtype=np.bool_)
    mask[positions] = True
    return torch.from_numpy(weight).view(nrows, ncols), torch.from_numpy(mask).view(nrows, ncols)


def _native_sparse_dense(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # the weight's own indices, valid already: checking them again would cost a pass (and torch a warning)
    if w.layout == torch.sparse_coo:
        ones = torch.sparse_coo_tensor(w._indices(), torch.ones_like(w._values()), w.shape, check_invariants=False)
    else:
        ones = torch.sparse_csr_tensor(w.crow_indices(), w.col_indices(), torch.ones_like(w.values()), w.shape,
                                       check_invariants=False)
    return w.to_dense(), ones.to_dense() != 0


def _sum_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}"[:120]


class _NotANumber(TypeError):
    """A metric function returned something other than a number or a one-element real tensor."""


def _as_value(result: object) -> Union[float, torch.Tensor]:
    """A float, or a 0-d tensor left where it lives (read later, with its device's others)."""
    if isinstance(result, torch.Tensor):
        if result.numel() != 1 or result.is_complex() or result.dtype == torch.bool:
            raise _NotANumber(f"returned {_describe(result)}, not a number or a one-element real tensor")
        result = result.detach().reshape(())
        return float(result) if result.device.type == "cpu" else result  # a CPU read costs no sync
    if isinstance(result, numbers.Real) and not isinstance(result, (bool, np.bool_)):
        return float(result)
    raise _NotANumber(f"returned {_describe(result)}, not a number or a one-element real tensor")


class PendingMetrics:
    """One sample's metric values on their way to the host; `results()` waits only if a copy has not landed."""

    def __init__(self, table: dict[str, dict[str, float]], deferred: list[tuple[str, str, torch.Tensor]]):
        self._table = table
        self._slots: list[tuple[str, str, int, int]] = []  # (layer, metric, batch, index)
        self._batches: list[tuple[Union[list[float], torch.Tensor], Optional[torch.cuda.Event]]] = []
        by_device: dict[torch.device, list[tuple[str, str, torch.Tensor]]] = {}
        for entry in deferred:
            by_device.setdefault(entry[2].device, []).append(entry)
        for device, entries in by_device.items():
            batch = len(self._batches)
            self._slots += [(layer, metric, batch, i) for i, (layer, metric, _) in enumerate(entries)]
            packed = torch.stack([t.to(_sum_dtype(device)) for _, _, t in entries])
            if device.type != "cuda":
                self._batches.append((packed.tolist(), None))  # a device with no events to wait on
                continue
            host = torch.empty(packed.shape, dtype=packed.dtype, pin_memory=True)
            host.copy_(packed, non_blocking=True)
            event = torch.cuda.Event()
            event.record(torch.cuda.current_stream(device))
            self._batches.append((host, event))

    def ready(self) -> bool:
        return all(event is None or event.query() for _, event in self._batches)

    def results(self) -> dict[str, dict[str, Optional[float]]]:
        """Layer → metric → value, None where it is NaN or ±Inf; metrics in the order they were registered."""
        values = []
        for host, event in self._batches:
            if event is not None:
                event.synchronize()
            values.append(host.tolist() if isinstance(host, torch.Tensor) else host)
        for layer, metric, batch, i in self._slots:
            self._table[layer][metric] = values[batch][i]
        return {layer: {name: value if math.isfinite(value) else None for name, value in metrics.items()}
                for layer, metrics in self._table.items()}


class PluginMetrics:
    """The registered metric functions and which of them failed. Registering raises (ValueError, TypeError)
    at once, in the caller's setup code; computing never raises."""

    def __init__(self, metrics: Optional[Mapping[str, MetricFn]] = None):
        self._fns: dict[str, MetricFn] = {}
        #: name → (warn_above, warn_below), each None when not set
        self.limits: dict[str, tuple[Optional[float], Optional[float]]] = {}
        self._failed: set[str] = set()
        self._warned_sharded = False
        self._warned_layers: set[str] = set()
        if metrics is not None:
            if not isinstance(metrics, Mapping):
                raise TypeError(f"metrics must map names to functions, got {type(metrics).__name__}")
            for name, fn in metrics.items():
                self.register(name, fn)

    def register(self, name: str, fn: MetricFn, warn_above: Optional[float] = None,
                 warn_below: Optional[float] = None) -> None:
        """Adds `fn` under `name` (replacing, and re-enabling, a function of that name, and its limits); it
        applies from the next sample on."""
        check_name(name)
        above, below = limit_option(name, "warn_above", warn_above), limit_option(name, "warn_below", warn_below)
        if above is not None and below is not None and below >= above:
            raise ValueError(f"metric {name!r}: warn_below ({below:g}) must be less than warn_above ({above:g})")
        if not callable(fn):
            raise TypeError(f"metric {name!r} must be a function fn(name, weight, mask), got {type(fn).__name__}")
        if name not in self._fns and len(self._fns) >= MAX_METRICS:
            raise ValueError(f"metric {name!r}: a profiler takes at most {MAX_METRICS} metrics "
                             f"(registered: {', '.join(self._fns)})")
        self._fns[name] = fn
        self.limits[name] = (above, below)
        self._failed.discard(name)

    @property
    def active(self) -> list[str]:
        """Names of the metrics computed at the next sample, in the order they were registered."""
        return [name for name in self._fns if name not in self._failed]

    def compute(self, sources: Iterable[LayerSource], distributed: bool = False) -> Optional[PendingMetrics]:
        """Calls every active metric on every source; None when there is none to call."""
        names = self.active
        if not names:
            return None
        table: dict[str, dict[str, float]] = {}
        deferred: list[tuple[str, str, torch.Tensor]] = []
        sharded = []
        with torch.no_grad():  # a block, not a decorator: the warnings' stacklevel counts frames
            for source in sources:
                layer = source.info.name
                if distributed and getattr(source, "sharded", False):
                    sharded.append(layer)
                    continue
                try:
                    weight, mask = weight_and_mask(source)
                except Exception as error:  # noqa: BLE001 - an add-on: the built-in measurement goes on
                    self._skip_layer(layer, error)
                    continue
                row = table[layer] = {}
                for name in names:
                    if name in self._failed:
                        continue
                    try:
                        value = _as_value(self._fns[name](layer, weight, mask))
                    except Exception as error:  # noqa: BLE001 - a user's metric must not stop training or the profiler
                        self._disable(name, layer, error)
                        continue
                    if isinstance(value, torch.Tensor):
                        deferred.append((layer, name, value))
                    row[name] = 0.0 if isinstance(value, torch.Tensor) else value  # a tensor's lands in results()
                del weight, mask  # a dense view built for the call is freed before the next layer's
        if sharded and not self._warned_sharded:
            self._warned_sharded = True
            warnings.warn(f"SparseLab Profiler: metrics are not computed for sharded layers ({', '.join(sharded[:5])}"
                          f"{', …' if len(sharded) > 5 else ''}): this rank holds only a shard of each weight.",
                          RuntimeWarning, stacklevel=_WARN_STACKLEVEL - 1)
        if self._failed:  # a metric that failed on a later layer is left out of the whole sample
            for row in table.values():
                for name in self._failed.intersection(row):
                    del row[name]
            deferred = [entry for entry in deferred if entry[1] not in self._failed]
        return PendingMetrics(table, deferred)

    def _skip_layer(self, layer: str, error: Exception) -> None:
        if layer not in self._warned_layers:
            self._warned_layers.add(layer)
            warnings.warn(f"SparseLab Profiler: metrics are not computed for layer {layer!r}: reading its weight and "
                          f"mask failed ({type(error).__name__}: {error}). The other layers and the profiler continue.",
                          RuntimeWarning, stacklevel=_WARN_STACKLEVEL)

    def _disable(self, name: str, layer: str, error: Exception) -> None:
        self._failed.add(name)
        what = str(error) if isinstance(error, _NotANumber) else f"raised {type(error).__name__}: {error}"
        warnings.warn(f"SparseLab Profiler: metric {name!r} is disabled: on layer {layer!r} it {what}. It is left out "
                      "of this and later samples; training, the profiler and the other metrics continue.",
                      RuntimeWarning, stacklevel=_WARN_STACKLEVEL)
