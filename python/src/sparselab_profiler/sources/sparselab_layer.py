"""SparseLab `SparseLinear`: weights live in a Padded-CSR whose fields give exact nnz and bytes."""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from ..mask_history import pack_positions
from ..metrics import Workspace
from ..records import LayerInfo
from .base import LiveValues, name_of

_CSR_ARRAYS = ("values", "col_indices", "row_start", "row_nnz", "row_capacity")


def is_sparselab_layer(module: torch.nn.Module) -> bool:
    # the instance dict, not getattr: a module's missing attribute costs a raised exception, per layer per sample
    csr = vars(module).get("_csr")
    if csr is None:
        return False
    kind = type(csr)  # SparseLab's fields are properties of the class: looked up there, no getter runs
    return all(hasattr(kind, a) or hasattr(csr, a) for a in ("nnz", "total_capacity", "col_indices", "topology_version"))


class SparseLabLayerSource:
    def __init__(self, name: str, layer: torch.nn.Module):
        self.name = name
        self.layer = layer
        self._slots_key: tuple[int, int] | None = None
        #: the live slots, row by row (int32 below 2**31 slots), for the CSR object and version `_slots_key`
        self._slots = np.empty(0, dtype=np.int32)
        #: what a sample reads of the CSR, for `_slots_key`: its values as a tensor sharing their memory, the
        #: slots as one (None: every slot is live), nnz, the bytes its arrays occupy, its dense size, its capacity
        self._live = LiveValues(torch.empty(0), 0)
        self._storage_bytes = self._dense_bytes = self._capacity = 0
        self._bits_key: tuple[int, int] | None = None
        self._bits = np.empty(0, dtype=np.uint64)
        self.info = self.describe()

    def describe(self) -> LayerInfo:
        csr = self._csr
        nrows, ncols = int(csr.nrows), int(csr.ncols)
        return LayerInfo(name=self.name, shape=[nrows, ncols], numel=nrows * ncols, dtype=name_of(np.asarray(csr.values).dtype),
                         format="padded_csr", mask_source="sparselab", device="cpu")

    def identity(self):
        return id(self.layer)

    @property
    def _csr(self):
        # Read through the layer each time: reset_parameters() replaces the CSR object.
        return self.layer._csr

    def _live_slots(self) -> np.ndarray:
        """Index of every live slot, row by row: a row's first `row_nnz` slots from its `row_start`, as SparseLab
        reads them, built from the rows' ranges so the padding is never touched (4 bytes a live slot kept).

        Cached per CSR object and `topology_version`, which SparseLab bumps on every rewrite (its own transpose
        cache is keyed so too), with all else a sample reads of the CSR: the values as a tensor, nnz, the bytes
        the arrays occupy, the dense size and the capacity. A CSR's arrays are never reallocated (rows are
        rewritten within their capacity; SparseLab's `_values` parameter stays aliased to them), and the tensor
        keeps them alive."""
        csr = self._csr
        key = (id(csr), csr.topology_version)
        if self._slots_key != key:
            values = np.asarray(csr.values)
            row_start = np.asarray(csr.row_start)
            row_nnz = np.asarray(csr.row_nnz)
            total = values.size
            nnz = int(row_nnz.sum(dtype=np.int64))
            kind = np.int32 if total < 2**31 else np.int64  # 4 bytes a live slot where they fit
            first = np.cumsum(row_nnz, dtype=kind) - row_nnz  # where each row's live slots begin in the packed list
            index = np.arange(nnz, dtype=kind) + np.repeat((row_start - first).astype(kind, copy=False), row_nnz)
            every = nnz == total and np.array_equal(index, np.arange(total))
            self._slots = index
            live = None if every else torch.from_numpy(index)
            self._live = LiveValues(torch.from_numpy(values), int(csr.nnz), live)  # the CSR's own count
            self._storage_bytes = int(sum(np.asarray(getattr(csr, a)).nbytes for a in _CSR_ARRAYS))
            self._dense_bytes = int(csr.nrows) * int(csr.ncols) * values.itemsize
            self._capacity = int(csr.total_capacity)
            self._slots_key = key
        return self._slots

    def stored_values(self, workspace: Optional[Workspace] = None) -> torch.Tensor:
        return torch.from_numpy(np.asarray(self._csr.values)[self._live_slots()])

    def live_values(self, mask: Optional[torch.Tensor] = None) -> LiveValues:
        """The slots' values and the live ones' cached indices (the padding is never read), with the CSR's own
        nnz: no pass over a mask."""
        self._live_slots()
        return self._live

    def nnz(self) -> int:
        self._live_slots()
        return self._live.nnz

    def storage_bytes(self) -> int:
        self._live_slots()
        return self._storage_bytes

    def dense_bytes(self) -> int:
        self._live_slots()
        return self._dense_bytes

    def live_positions(self) -> np.ndarray:
        """Flat indices (row * ncols + col) of the live connections, each once."""
        csr = self._csr
        index = self._live_slots()
        rows = np.repeat(np.arange(int(csr.nrows), dtype=np.int64), np.asarray(csr.row_nnz).astype(np.int64))
        return rows * int(csr.ncols) + np.asarray(csr.col_indices)[index]

    def live_bits(self) -> np.ndarray:
        """`live_positions()` packed one bit per weight (`pack_positions`), kept for the mask version they were
        read at: an update hook's "before" is its previous "after"."""
        key = self.mask_version()
        if self._bits_key != key:
            self._bits = pack_positions(self.live_positions(), self.info.numel)
            self._bits_key = key
        return self._bits

    def mask(self) -> torch.Tensor:
        """The live connections as a bool (out, in) tensor: nnz set entries, one per live position."""
        csr = self._csr
        nrows, ncols = int(csr.nrows), int(csr.ncols)
        flat = np.zeros(nrows * ncols, dtype=np.bool_)
        flat[self.live_positions()] = True
        return torch.from_numpy(flat).view(nrows, ncols)

    def mask_version(self) -> tuple[int, int]:
        """Changes whenever the live positions may have: SparseLab bumps `topology_version` on every rewrite,
        and reset_parameters() replaces the CSR object."""
        csr = self._csr
        return (id(csr), int(csr.topology_version))

    def capacity(self) -> int:
        """Slots the Padded-CSR allocated, live or padding."""
        self._live_slots()
        return self._capacity
