"""`torch.nn.utils.prune`: a dense `<name>_orig` parameter times a `<name>_mask` buffer."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..metrics import Workspace, count_set, masked_values
from ..records import LayerInfo


def is_pruned(module: nn.Module, name: str = "weight") -> bool:
    return isinstance(getattr(module, f"{name}_orig", None), torch.Tensor) and isinstance(getattr(module, f"{name}_mask", None), torch.Tensor)


class TorchPruneSource:
    """Reads the mask and `_orig`, never `module.weight`: that copy is stale between `optimizer.step()`
    and the next forward. Storage is the `_orig` parameter, the mask buffer and that recomputed copy,
    which together cost more than the dense weight alone."""

    def __init__(self, name: str, module: nn.Module, param: str = "weight"):
        self.module = module
        self.param = param
        orig = self._orig
        self.info = LayerInfo(name=name, shape=list(orig.shape), numel=orig.numel(),
                              dtype=str(orig.dtype).removeprefix("torch."), format="dense_masked", mask_source="torch_prune")

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
