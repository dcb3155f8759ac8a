"""`torch.nn.utils.prune`: a dense `<name>_orig` parameter times a `<name>_mask` buffer."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..metrics import Workspace, count_set, masked_values
from ..records import LayerInfo
from .base import describe_tensor, storage_identity


def is_pruned(module: nn.Module, name: str = "weight") -> bool:
    # where prune registers them (a missing module attribute would cost a raised exception per layer per sample)
    return isinstance(module._parameters.get(f"{name}_orig"), torch.Tensor) and isinstance(module._buffers.get(f"{name}_mask"), torch.Tensor)


class TorchPruneSource:
    """Reads the mask and `_orig`, never `module.weight`: that copy is stale between `optimizer.step()`
    and the next forward. Storage is the `_orig` parameter, the mask buffer and that recomputed copy,
    which together cost more than the dense weight alone."""

    def __init__(self, name: str, module: nn.Module, param: str = "weight"):
        self.name = name
        self.module = module
        self.param = param
        self.info = self.describe()

    def describe(self) -> LayerInfo:
        return describe_tensor(self.name, self._orig, "dense_masked", "torch_prune")

    def identity(self):
        return storage_identity(self._orig)

    @property
    def _orig(self) -> torch.Tensor:
        return getattr(self.module, f"{self.param}_orig")

    def mask(self) -> torch.Tensor:
        # prune replaces the buffer on every call, so it is looked up afresh each time
        return getattr(self.module, f"{self.param}_mask").detach().bool()

    def stored_values(self, workspace: Optional[Workspace] = None) -> torch.Tensor:
        # orig * mask: masked positions become zeros, which the histogram leaves out anyway
        return masked_values(self._orig, getattr(self.module, f"{self.param}_mask"), workspace)

    def nnz_tensor(self) -> torch.Tensor:
        return count_set(self.mask())

    def nnz(self) -> int:
        return int(self.nnz_tensor())

    def storage_bytes(self) -> int:
        tensors = [self._orig, getattr(self.module, f"{self.param}_mask")]
        recomputed = getattr(self.module, self.param, None)
        if isinstance(recomputed, torch.Tensor):
            tensors.append(recomputed)
        return sum(t.numel() * t.element_size() for t in tensors)

    def dense_bytes(self) -> int:
        return self._orig.numel() * self._orig.element_size()
