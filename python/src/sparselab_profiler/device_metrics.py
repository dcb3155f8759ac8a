"""Metrics of weights that live on an accelerator, computed there without a single host sync.

Every per-layer figure (nnz, NaN/Inf count, bin range, largest finite |w|, histogram counts) stays a device
tensor; one flat vector goes to pinned host memory with one non-blocking copy, and an event says when it landed.
The host reads it at the next sample (or at close), by which time the copy has long finished, so the
training thread never waits for the queued training step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .metrics import RANGE_HEADROOM, bin_positions, count_positions, working_dtype
from .records import Histogram


@dataclass
class LayerInput:
    name: str
    values: torch.Tensor
    #: 0-d integer tensor on the same device (no sync to compute it)
    nnz: torch.Tensor


class PendingMeasurement:
    """Per-layer results on their way to the host; `results()` waits only if the copy is not done."""

    def __init__(self, names: list[str], bins: int, extras: int, host: torch.Tensor, event: "torch.cuda.Event | None"):
        self._names = names
        self._bins = bins
        self._extras = extras
        self._host = host
        self._event = event

    def ready(self) -> bool:
        return self._event is None or self._event.query()

    def results(self) -> tuple[dict[str, tuple[int, int, Histogram, float]], list[int]]:
        """(name → (nnz, nonfinite, histogram of the non-zero finite values, largest finite |w|), the extra counts)."""
        if self._event is not None:
            self._event.synchronize()
        flat = self._host.tolist()
        width = 4 + self._bins
        out = {}
        for i, name in enumerate(self._names):
            nnz, nonfinite, half, absmax, *counts = flat[i * width:(i + 1) * width]
            out[name] = (int(nnz), int(nonfinite), Histogram(lo=-half, hi=half, counts=[int(c) for c in counts]), absmax)
        extras = [int(v) for v in flat[len(flat) - self._extras:]] if self._extras else []
        return out, extras


class DeviceMetrics:
    """Keeps each layer's symmetric bin range as a device scalar that only widens, like `widened_range`."""

    def __init__(self, bins: int, forced: bool = False):
        self.bins = bins
        #: measure CPU tensors this way too (the device path's arithmetic, testable without a GPU)
        self.forced = forced
        self._half: dict[str, torch.Tensor] = {}

    def start(self, layers: list[LayerInput], extras: list[torch.Tensor] = ()) -> PendingMeasurement:
        """Queues the measurement of `layers` (and brings `extras`, 0-d counts, along in the same copy)."""
        parts = []
        for layer in layers:
            flat = layer.values.detach().reshape(-1)
            flat = flat.to(working_dtype(flat.dtype))
            finite = torch.isfinite(flat)
            absmax = (torch.where(finite, flat.abs(), 0).amax() if flat.numel() else flat.new_zeros(())).to(torch.float64)
            previous = self._half.get(layer.name)
            fresh = torch.where(absmax > 0, absmax * RANGE_HEADROOM, torch.ones_like(absmax))
            half = fresh if previous is None else torch.where(absmax > previous, torch.maximum(fresh, previous), previous)
            self._half[layer.name] = half
            parts.append(torch.stack([layer.nnz.to(torch.float64), (~finite).sum().to(torch.float64), half, absmax]))
            parts.append(count_positions(bin_positions(flat, -half, half, self.bins), self.bins))
        if extras:
            device = parts[0].device if parts else extras[0].device
            parts.append(torch.stack([e.to(device, torch.float64) for e in extras]))
        packed = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)
        names = [layer.name for layer in layers]
        if packed.device.type != "cuda":
            return PendingMeasurement(names, self.bins, len(extras), packed, None)
        host = torch.empty(packed.shape, dtype=packed.dtype, pin_memory=True)
        host.copy_(packed, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        return PendingMeasurement(names, self.bins, len(extras), host, event)
