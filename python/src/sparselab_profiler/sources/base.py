"""The contract every mask source fulfils."""

from __future__ import annotations

from typing import Optional, Protocol

import torch

from ..metrics import Workspace
from ..records import LayerInfo


class LayerSource(Protocol):
    """One profiled weight: what it is, how many entries it stores, and what that storage costs."""

    info: LayerInfo

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
        """Optional, for sources without a topology hook: which positions are live; its set entries
        number exactly `nnz()`."""
        ...

    def storage_bytes(self) -> int:
        """Bytes the storage really occupies."""
        ...

    def dense_bytes(self) -> int:
        """Bytes of the same weight stored as a dense tensor."""
        ...
