"""rigl-torch's `RigLScheduler`: boolean `backward_masks` aligned with `scheduler.W`, found through the
`IndexMaskHook` every sparse weight carries."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..metrics import Workspace, count_set, masked_values
from ..records import LayerInfo
from .base import LiveValues, describe_tensor, live_index, storage_identity


def rigl_torch_hook(weight: object) -> Optional[object]:
    """The IndexMaskHook on `weight`, if a RigLScheduler governs it (duck-typed: no import of rigl_torch)."""
    hooks = getattr(weight, "_backward_hooks", None) or {}
    for hook in hooks.values():
        scheduler = getattr(hook, "scheduler", None)
        if scheduler is not None and hasattr(scheduler, "backward_masks") and isinstance(getattr(hook, "layer", None), int):
            return hook
    return None


class RigLTorchSource:
    """The scheduler keeps the weight dense and zeroes it through a separate bool mask."""

    def __init__(self, name: str, module: nn.Module, hook: object):
        self.name = name
        self.module = module
        self.scheduler = hook.scheduler
        self.index: int = hook.layer
        self.info = self.describe()

    def describe(self) -> LayerInfo:
        return describe_tensor(self.name, self.module.weight, "dense_masked", "rigl_torch")

    def identity(self):
        return storage_identity(self.module.weight)

    def mask(self) -> torch.Tensor:
        return self.scheduler.backward_masks[self.index].detach().bool()

    def stored_values(self, workspace: Optional[Workspace] = None) -> torch.Tensor:
        return masked_values(self.module.weight, self.mask(), workspace)

    def live_values(self, mask: Optional[torch.Tensor] = None) -> Optional[LiveValues]:
        # read at every sample: rigl-torch assigns `mask.data`, which no version counter sees
        weight = self.module.weight
        if weight.device.type != "cpu":
            return None
        index = live_index(mask if mask is not None else self.mask())
        return LiveValues(weight.detach().reshape(-1), index.numel(), index)

    def nnz_tensor(self) -> torch.Tensor:
        return count_set(self.mask())

    def nnz(self) -> int:
        return int(self.nnz_tensor())

    def storage_bytes(self) -> int:
        w, mask = self.module.weight, self.scheduler.backward_masks[self.index]
        return w.numel() * w.element_size() + mask.numel() * mask.element_size()

    def dense_bytes(self) -> int:
        w = self.module.weight
        return w.numel() * w.element_size()
