"""Training scalars (the loss, an accuracy, …) passed to `step()`: each sample carries their means since the
previous one.

A tensor is summed where it lives, with one in-place add per step and no host sync; the window's sums go to
the host with one non-blocking copy when the sample is taken and are read when the sample is written, as the
weights' device metrics are. NaN and ±Inf survive a sum, so a non-finite sum means a non-finite value in the
window: that scalar's mean is None (null on the wire, which has no NaN).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Optional, Union

import torch

from .records import MAX_SCALAR_NAME_CHARS, MAX_SCALARS

Sum = Union[float, torch.Tensor]


def _sum_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64


class PendingScalars:
    """One window's means on their way to the host; `results()` waits only if the copy has not landed."""

    def __init__(self, sums: dict[str, Sum], counts: dict[str, int]):
        self._counts = counts
        self._host = {name: s for name, s in sums.items() if not isinstance(s, torch.Tensor)}
        tensors = {name: s for name, s in sums.items() if isinstance(s, torch.Tensor)}
        self._names = list(tensors)
        self._event: Optional[torch.cuda.Event] = None
        self._values: Union[list[float], torch.Tensor] = []
        if not tensors:
            return
        device = next(iter(tensors.values())).device
        packed = torch.stack([s.to(device, _sum_dtype(device)) for s in tensors.values()])
        if device.type != "cuda":
            self._values = packed.tolist()  # host memory already, or a device with no events to wait on
            return
        self._values = torch.empty(packed.shape, dtype=packed.dtype, pin_memory=True)
        self._values.copy_(packed, non_blocking=True)
        self._event = torch.cuda.Event()
        self._event.record(torch.cuda.current_stream(device))

    def ready(self) -> bool:
        return self._event is None or self._event.query()

    def results(self) -> dict[str, Optional[float]]:
        """Name → mean, None where a value was NaN or ±Inf; in the order the names were first passed."""
        if self._event is not None:
            self._event.synchronize()
        values = self._values.tolist() if isinstance(self._values, torch.Tensor) else self._values
        sums = {**self._host, **dict(zip(self._names, values))}
        means = {name: sums[name] / count for name, count in self._counts.items()}
        return {name: mean if math.isfinite(mean) else None for name, mean in means.items()}


class ScalarWindow:
    """Sums and counts of each scalar since the last `take()`. Bad input never raises: a value that is not
    a real number (or a one-element tensor of one) warns once per name and is left out, and names past
    MAX_SCALARS in a run are dropped with one warning."""

    def __init__(self) -> None:
        self._sums: dict[str, Sum] = {}
        self._counts: dict[str, int] = {}
        self._names: set[str] = set()  # every name accepted in this run: the limit holds for every sample
        self._warned: set[str] = set()
        self._warned_limit = False

    def add(self, name: str, value: object) -> None:
        """Adds one value of `name`; None is no value."""
        if value is None:
            return
        if name not in self._names and not self._admit(name):
            return
        try:
            self._add(name, value)
        except Exception as error:  # noqa: BLE001 - a bad scalar must not stop training or the profiler
            if name not in self._warned:
                self._warned.add(name)
                warnings.warn(f"SparseLab Profiler: scalar {name!r} ignored: {error}. Training, the profiler and "
                              "the other scalars continue.", RuntimeWarning, stacklevel=5)

    def take(self) -> Optional[PendingScalars]:
        """The window's means on their way to the host (None when nothing was passed); a new window starts."""
        if not self._counts:
            return None
        pending = PendingScalars(self._sums, self._counts)
        self._sums, self._counts = {}, {}
        return pending

    def _admit(self, name: str) -> bool:
        if not isinstance(name, str) or not 0 < len(name) <= MAX_SCALAR_NAME_CHARS:
            if name not in self._warned:
                self._warned.add(name)
                warnings.warn(f"SparseLab Profiler: scalar {name!r} ignored: a name must have 1 to "
                              f"{MAX_SCALAR_NAME_CHARS} characters.", RuntimeWarning, stacklevel=6)
            return False
        if len(self._names) >= MAX_SCALARS:
            if not self._warned_limit:
                self._warned_limit = True
                warnings.warn(f"SparseLab Profiler: scalar {name!r} and any further new names are ignored: a run "
                              f"records at most {MAX_SCALARS} scalars.", RuntimeWarning, stacklevel=6)
            return False
        self._names.add(name)
        return True

    def _add(self, name: str, value: object) -> None:
        total = self._sums.get(name, 0.0)
        if isinstance(value, torch.Tensor):
            if value.numel() != 1 or value.is_complex() or value.dtype == torch.bool:
                raise TypeError(f"expected a number or a one-element real tensor, got a {value.dtype} tensor of shape "
                                f"{tuple(value.shape)}")
            value = value.detach().reshape(())
            if isinstance(total, torch.Tensor):
                # in place, where the sum lives: no host sync (a CPU value is added as a plain number)
                total.add_(value if value.device.type == "cpu" else value.to(total.device))
            else:  # a new tensor: the sum must never alias the caller's
                tensor_sum = value.to(_sum_dtype(value.device), copy=True)
                self._sums[name] = tensor_sum.add_(total) if total else tensor_sum
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            self._sums[name] = total + float(value)
        else:
            raise TypeError(f"expected a number or a one-element tensor, got {type(value).__name__}")
        self._counts[name] = self._counts.get(name, 0) + 1
