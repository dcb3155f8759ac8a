"""The contract every mask source fulfils."""

from __future__ import annotations

from typing import Hashable, Optional, Protocol

import torch

from ..metrics import Workspace
from ..records import LayerInfo, MaskSource, StorageFormat


def describe_tensor(name: str, tensor: torch.Tensor, format: StorageFormat, mask_source: MaskSource) -> LayerInfo:
    """A layer stored in `tensor` as it is now: shape, dtype and device read afresh."""
    return LayerInfo(name=name, shape=list(tensor.shape), numel=tensor.numel(), dtype=str(tensor.dtype).removeprefix("torch."),
                     format=format, mask_source=mask_source, device=str(tensor.device))


def storage_identity(tensor: torch.Tensor) -> Hashable:
    """Equal for two names of one weight (tied modules share the Parameter, or a view of the same memory)."""
    try:
        return (str(tensor.device), tensor.data_ptr(), tensor.dtype, tuple(tensor.shape), tuple(tensor.stride()))
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

    def capacity(self) -> int:
        """Optional, for padded formats: the slots allocated, live or padding."""
        ...

    def storage_bytes(self) -> int:
        """Bytes the storage really occupies."""
        ...

    def dense_bytes(self) -> int:
        """Bytes of the same weight stored as a dense tensor."""
        ...
