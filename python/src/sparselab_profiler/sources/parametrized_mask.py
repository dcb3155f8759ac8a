"""Parametrizations that carry a `mask` (torch.ao.pruning's FakeSparsity and libraries built on it)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..metrics import Workspace, count_set, masked_values
from ..records import LayerInfo
from .base import LiveValues, describe_tensor, live_index, storage_identity


def mask_parametrization(module: nn.Module, name: str = "weight") -> Optional[nn.Module]:
    """The first parametrization of `module.<name>` that has a tensor `mask`, if any."""
    # parametrize.is_parametrized's getattr raises inside nn.Module for every plain module: costly per layer per sample
    parametrizations = module._modules.get("parametrizations")
    if parametrizations is None or name not in parametrizations:
        return None
    for p in parametrizations[name]:
        if isinstance(getattr(p, "mask", None), torch.Tensor):
            return p
    return None


class ParametrizedMaskSource:
    """nnz comes from the mask: the parametrization's `original` tensor stays dense and must never be counted."""

    def __init__(self, name: str, module: nn.Module, param: str = "weight"):
        self.name = name
        self.module = module
        self.param = param
        self.info = self.describe()

    def describe(self) -> LayerInfo:
        return describe_tensor(self.name, self._original, "dense_masked", "parametrization")

    def identity(self):
        return storage_identity(self._original)

    @property
    def _original(self) -> torch.Tensor:
        return self.module.parametrizations[self.param].original

    def _mask_tensor(self) -> torch.Tensor:
        return mask_parametrization(self.module, self.param).mask

    def mask(self) -> torch.Tensor:
        return (self._mask_tensor().detach() != 0).expand_as(self._original)

    def stored_values(self, workspace: Optional[Workspace] = None) -> torch.Tensor:
        return masked_values(self._original, self._mask_tensor(), workspace)

    def live_values(self, mask: Optional[torch.Tensor] = None) -> Optional[LiveValues]:
        # read at every sample: torch.ao.pruning's sparsifiers assign `mask.data`, which no version counter sees
        original = self._original
        if original.device.type != "cpu":
            return None
        index = live_index(mask if mask is not None else self.mask())
        return LiveValues(original.detach().reshape(-1), index.numel(), index)

    def nnz_tensor(self) -> torch.Tensor:
        return count_set(self.mask())

    def nnz(self) -> int:
        return int(self.nnz_tensor())

    def storage_bytes(self) -> int:
        mask = self._mask_tensor()
        return self._original.numel() * self._original.element_size() + mask.numel() * mask.element_size()

    def dense_bytes(self) -> int:
        return self._original.numel() * self._original.element_size()
