"""Plain dense weights whose zeros are taken as the mask (an inferred mask, not a declared one)."""

from __future__ import annotations

from typing import Optional

import torch

from ..distributed import is_sharded, local_part
from ..metrics import Workspace, count_set
from ..records import LayerInfo
from .base import LiveValues, describe_tensor, storage_identity


class DenseWeightSource:
    """Reads `module.<param>` afresh each time (FSDP2 swaps parameters); for a sharded DTensor every
    count and byte is this rank's shard only, and the profiler sums them across ranks."""

    def __init__(self, name: str, module: torch.nn.Module, param: str = "weight"):
        self.name = name
        self.module = module
        self.param = param
        self.info = self.describe()

    def describe(self) -> LayerInfo:
        return describe_tensor(self.name, self._weight, "dense", "inferred_zeros")

    def identity(self):
        return storage_identity(self._weight)

    @property
    def _weight(self) -> torch.Tensor:
        return getattr(self.module, self.param)

    @property
    def sharded(self) -> bool:
        return is_sharded(self._weight)

    def _local(self) -> torch.Tensor:
        return local_part(self._weight.detach())

    def mask(self) -> torch.Tensor:
        return self._local() != 0

    def stored_values(self, workspace: Optional[Workspace] = None) -> torch.Tensor:
        return self._local().reshape(-1)

    def live_values(self, mask: Optional[torch.Tensor] = None) -> Optional[LiveValues]:
        # every weight is stored: its zeros are the (inferred) masked-out positions, counted once, from the mask
        values = self.stored_values()  # the parameter itself, flat: no copy
        if values.device.type != "cpu":
            return None
        nnz = int(count_set(mask if mask is not None else values))
        return LiveValues(values.detach(), nnz, zeros=values.numel() - nnz)

    def nnz_tensor(self) -> torch.Tensor:
        return count_set(self._local())

    def nnz(self) -> int:
        return int(self.nnz_tensor())

    def storage_bytes(self) -> int:
        local = self._local()
        return local.numel() * local.element_size()

    def dense_bytes(self) -> int:
        return self.storage_bytes()
