"""Weights stored in torch's own sparse formats: COO, CSR and 2:4 semi-structured."""

from __future__ import annotations

from typing import Optional

import torch

from ..metrics import Workspace
from ..records import LayerInfo
from .base import describe_tensor

_FORMATS = {torch.sparse_coo: "coo", torch.sparse_csr: "csr"}


def is_native_sparse(tensor: object) -> bool:
    return isinstance(tensor, torch.Tensor) and tensor.layout in _FORMATS


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


class NativeSparseSource:
    """nnz is the number of stored entries (`_nnz()`), explicit zeros included: they occupy storage."""

    def __init__(self, name: str, module: torch.nn.Module, param: str = "weight"):
        self.name = name
        self.module = module
        self.param = param
        self.info = self.describe()

    @property
    def _weight(self) -> torch.Tensor:
        return getattr(self.module, self.param).detach()

    def describe(self) -> LayerInfo:
        w = self._weight
        return describe_tensor(self.name, w, _FORMATS[w.layout], "native_sparse")

    def identity(self):
        return id(getattr(self.module, self.param))

    def stored_values(self, workspace: Optional[Workspace] = None) -> torch.Tensor:
        w = self._weight
        return w._values() if w.layout == torch.sparse_coo else w.values()

    def nnz_tensor(self) -> torch.Tensor:
        return torch.tensor(self._weight._nnz())  # metadata: no device work

    def nnz(self) -> int:
        return int(self._weight._nnz())

    def storage_bytes(self) -> int:
        w = self._weight
        if w.layout == torch.sparse_coo:
            return _nbytes(w._indices()) + _nbytes(w._values())
        return _nbytes(w.crow_indices()) + _nbytes(w.col_indices()) + _nbytes(w.values())

    def dense_bytes(self) -> int:
        w = self._weight
        return w.numel() * w.element_size()


try:
    from torch.sparse import SparseSemiStructuredTensor
except ImportError:  # torch before 2.1
    SparseSemiStructuredTensor = None


def is_semi_structured(tensor: object) -> bool:
    """A 2:4 `SparseSemiStructuredTensor` (torch builds them on CUDA only)."""
    return SparseSemiStructuredTensor is not None and isinstance(tensor, SparseSemiStructuredTensor)


class SemiStructuredSource:
    """2:4 semi-structured: every group of four keeps exactly two entries, so nnz is half of numel by
    construction (a kept entry may hold a zero; it is stored all the same). Storage is the packed values
    and the metadata that says which two of each four they are."""

    _STORAGE = ("packed", "meta", "packed_t", "meta_t", "compressed_swizzled_bitmask")

    def __init__(self, name: str, module: torch.nn.Module, param: str = "weight"):
        self.name = name
        self.module = module
        self.param = param
        self.info = self.describe()

    @property
    def _weight(self) -> torch.Tensor:
        return getattr(self.module, self.param).detach()

    def describe(self) -> LayerInfo:
        return describe_tensor(self.name, self._weight, "semi_structured_2_4", "native_sparse")

    def identity(self):
        return id(getattr(self.module, self.param))

    def stored_values(self, workspace: Optional[Workspace] = None) -> torch.Tensor:
        return self._weight.to_dense()

    def nnz_tensor(self) -> torch.Tensor:
        return torch.tensor(self.nnz())

    def nnz(self) -> int:
        return self.info.numel // 2

    def storage_bytes(self) -> int:
        w = self._weight
        return sum(_nbytes(t) for t in (getattr(w, slot, None) for slot in self._STORAGE) if t is not None)

    def dense_bytes(self) -> int:
        w = self._weight
        return w.numel() * w.element_size()
