"""`torch.nn.utils.prune`: a dense `<name>_orig` parameter times a `<name>_mask` buffer."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..metrics import Workspace, count_set, masked_values
from ..records import LayerInfo
from .base import LiveValues, TensorVersion, describe_tensor, live_index, storage_identity


def is_pruned(module: nn.Module, name: str = "weight") -> bool:
    # where prune registers them (a missing module attribute would cost a raised exception per layer per sample)
    return isinstance(module._parameters.get(f"{name}_orig"), torch.Tensor) and isinstance(module._buffers.get(f"{name}_mask"), torch.Tensor)


class TorchPruneSource:
    """Reads the mask and `_orig`, never `module.weight`: that copy is stale between `optimizer.step()`
    and the next forward. Storage is the `_orig` parameter, the mask buffer and that recomputed copy,
    which together cost more than the dense weight alone.

    The mask's live positions are kept (int64 for `torch.take`, 8 bytes per live weight) while `mask_version()`
    stays the same, so a sample of an unchanged mask reads only the live weights: prune replaces the buffer at
    every call, and an in-place edit bumps its version counter."""

    def __init__(self, name: str, module: nn.Module, param: str = "weight"):
        self.name = name
        self.module = module
        self.param = param
        self._orig_key, self._mask_key = f"{param}_orig", f"{param}_mask"
        self._index_key: Optional[TensorVersion] = None
        self._index: Optional[torch.Tensor] = None
        self.info = self.describe()

    def describe(self) -> LayerInfo:
        return describe_tensor(self.name, self._orig, "dense_masked", "torch_prune")

    def identity(self):
        return storage_identity(self._orig)

    @property
    def _orig(self) -> torch.Tensor:
        # where prune registers it: nn.Module.__getattr__ costs more than the rest of a small layer's bookkeeping
        orig = self.module._parameters.get(self._orig_key)
        return orig if orig is not None else getattr(self.module, self._orig_key)

    @property
    def _mask_buffer(self) -> torch.Tensor:
        mask = self.module._buffers.get(self._mask_key)
        return mask if mask is not None else getattr(self.module, self._mask_key)

    def mask(self) -> torch.Tensor:
        # prune replaces the buffer on every call, so it is looked up afresh each time
        return self._mask_buffer.detach().bool()

    def mask_version(self) -> Optional[TensorVersion]:
        """Changes whenever the mask buffer may have: another buffer (prune registers a new one at every call),
        another storage, or an in-place edit (see TensorVersion for the one write it cannot see)."""
        return TensorVersion.of(self._mask_buffer)

    def live_values(self, mask: Optional[torch.Tensor] = None) -> Optional[LiveValues]:
        orig = self._orig
        if orig.device.type != "cpu":
            return None
        index = self._index
        if mask is not None or index is None or not self._index_key.matches(self._mask_buffer):
            key = self.mask_version()
            index = live_index(mask if mask is not None else self.mask())
            self._index, self._index_key = (index, key) if key is not None else (None, None)
        return LiveValues(orig.detach().reshape(-1), index.numel(), index)

    def stored_values(self, workspace: Optional[Workspace] = None) -> torch.Tensor:
        # orig * mask: masked positions become zeros, which the histogram leaves out anyway
        return masked_values(self._orig, self._mask_buffer, workspace)

    def nnz_tensor(self) -> torch.Tensor:
        return count_set(self.mask())

    def nnz(self) -> int:
        return int(self.nnz_tensor())

    def storage_bytes(self) -> int:
        total = self._orig.nbytes + self._mask_buffer.nbytes
        recomputed = self.module.__dict__.get(self.param)  # set by prune's forward pre-hook
        if recomputed is None:
            recomputed = getattr(self.module, self.param, None)
        return total + recomputed.nbytes if isinstance(recomputed, torch.Tensor) else total

    def dense_bytes(self) -> int:
        return self._orig.nbytes
