"""The contract every mask source fulfils."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Hashable, Optional, Protocol

import numpy as np
import torch

from ..metrics import Workspace
from ..records import LayerInfo, MaskSource, StorageFormat


@dataclass
class LiveValues:
    """What a host sample measures of one layer: its live values, and the exact structural nnz. A live weight may
    hold 0.0 (it counts in nnz, not in the histogram)."""

    #: the stored values, flat (1-D; the source's own memory, never to be written)
    values: torch.Tensor
    nnz: int
    #: positions of `values` that are live (None: all of them, masked-out ones holding zeros)
    index: Optional[torch.Tensor] = None
    #: how many live values are exactly zero, when the source knows it without a pass (None: not known)
    zeros: Optional[int] = None


class TensorVersion:
    """A cheap key that stays equal while a tensor stays as it was: the same object (held weakly), on the same
    storage, with the same autograd version counter, which every in-place op bumps (under no_grad too).

    Blind to a write through `.data` (`t.data.copy_(…)`) or through numpy, which bypass the version counter: a
    mask keyed this way must be replaced or edited in place, as torch.nn.utils.prune and plain code do."""

    __slots__ = ("_ref", "_version", "_ptr")

    def __init__(self, tensor: torch.Tensor):
        self._ref = weakref.ref(tensor)
        self._version = tensor._version
        self._ptr = tensor.data_ptr()

    @classmethod
    def of(cls, tensor: torch.Tensor) -> Optional["TensorVersion"]:
        """None for a tensor without a version counter (inference tensors, some subclasses): never cached."""
        try:
            return cls(tensor)
        except (RuntimeError, TypeError, AttributeError, NotImplementedError):
            return None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TensorVersion):
            return False
        tensor = self._ref()
        return tensor is not None and tensor is other._ref() and self._version == other._version and self._ptr == other._ptr

    def matches(self, tensor: torch.Tensor) -> bool:
        """Whether `tensor` is still the tensor this key was taken of, as it was (no new key built)."""
        return self._ref() is tensor and tensor._version == self._version and tensor.data_ptr() == self._ptr

    def __hash__(self) -> int:
        return hash((self._version, self._ptr))


def live_index(mask: torch.Tensor) -> torch.Tensor:
    """Flat positions (row-major) of the set entries of a CPU mask, ascending, as int64: the index `torch.take`
    gathers with, over all intra-op threads (index_select's int32 loop runs on one: ~2 ms more of a ResNet-18
    sample, bench/sample_cost.py). numpy finds them ~4x faster than torch.nonzero."""
    flat = mask.detach().reshape(-1)
    if flat.dtype != torch.bool:
        flat = flat != 0
    return torch.from_numpy(np.flatnonzero(flat.numpy()))


_NAMES: dict[object, str] = {}


def name_of(value: object) -> str:
    """A torch or numpy dtype's or a device's name, without "torch.": str() builds it in Python on every call, and
    the model walk describes every layer at every sample."""
    name = _NAMES.get(value)
    if name is None:
        name = _NAMES[value] = str(value).removeprefix("torch.")
    return name


def describe_tensor(name: str, tensor: torch.Tensor, format: StorageFormat, mask_source: MaskSource) -> LayerInfo:
    """A layer stored in `tensor` as it is now: shape, dtype and device read afresh."""
    return LayerInfo(name=name, shape=list(tensor.shape), numel=tensor.numel(), dtype=name_of(tensor.dtype),
                     format=format, mask_source=mask_source, device=name_of(tensor.device))


def storage_identity(tensor: torch.Tensor) -> Hashable:
    """Equal for two names of one weight (tied modules share the Parameter, or a view of the same memory)."""
    try:
        return (tensor.device, tensor.data_ptr(), tensor.dtype, tensor.shape, tensor.stride())
    except (RuntimeError, NotImplementedError):  # sparse layouts and tensor subclasses without plain storage
        return id(tensor)


class LayerSource(Protocol):
    """One profiled weight: what it is, how many entries it stores, and what that storage costs."""

    info: LayerInfo

    def describe(self) -> LayerInfo:
        """The layer as its storage is now (dtype and device can change under the profiler); no aliases."""
        ...

    def identity(self) -> Hashable:
        """A key equal for every module name that reaches this same storage (tied weights)."""
        ...

    def stored_values(self, workspace: Optional[Workspace] = None) -> torch.Tensor:
        """The values the storage holds (live slots only for compressed formats); masked-out positions may
        appear as zeros, which the histogram of non-zero values leaves out. A result computed into the
        `workspace` is only valid until the next source uses it."""
        ...

    def nnz(self) -> int:
        """Structurally non-zero entries, as an exact integer."""
        ...

    def nnz_tensor(self) -> torch.Tensor:
        """The same count as a 0-d tensor on the weight's device, so it can be taken without a host sync.
        Optional: sources without it are measured on the host."""
        ...

    def mask(self) -> torch.Tensor:
        """Optional: which positions are live, as a bool tensor of the weight's shape whose set entries number
        exactly `nnz()` (for inferred drop/grow, and the mask history of every declared mask)."""
        ...

    def mask_version(self) -> Hashable:
        """Optional: a key that changes whenever `mask()` may have (a hooked layer whose key and topology
        stayed as they were is not read again)."""
        ...

    def live_values(self, mask: Optional[torch.Tensor] = None) -> Optional[LiveValues]:
        """Optional, the host sample's fast path: the stored values as they are, which of them are live and the
        exact nnz, with as little reading as the storage allows (live positions cached while the mask is
        unchanged). `mask`: the layer's mask as the caller read it this sample, if it did (the source then need
        not read it again). None: measure `stored_values()` instead (an accelerator tensor, say)."""
        ...

    def capacity(self) -> int:
        """Optional, for padded formats: the slots allocated, live or padding."""
        ...

    def storage_bytes(self) -> int:
        """Bytes the storage really occupies."""
        ...

    def dense_bytes(self) -> int:
        """Bytes of the same weight stored as a dense tensor."""
        ...
