"""Each masked layer's mask history at one bit per weight: the mask at its previous sample, every position
active at any point since its first sample, and the positions its last drop removed.

From these bits come the inferred drop/grow of layers without an update hook, the in-time
over-parameterization numerator (`active_ever`, Liu et al. 2021), the mask distance between two samples
(`mask_changed`) and regrowth (grown positions the previous drop had removed). The bits live on the mask's
own device, so nothing here waits for a GPU: a GPU mask's counts come back as 0-d tensors for the caller
to read with the sample's one copy (a CPU mask's as ints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable, Optional, Union

import numpy as np
import torch

_BIT_WEIGHTS = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8)
_POPCOUNT = torch.tensor([bin(i).count("1") for i in range(256)], dtype=torch.uint8)

#: a mask's packed bits, zero-padded to whole 64-bit words: a numpy uint64 array for a CPU mask (numpy's
#: per-call overhead is a fraction of torch's, which dominates at 256x256), a uint8 tensor on the mask's
#: device otherwise
Bits = Union[np.ndarray, torch.Tensor]
#: a topology update's positions: a bool mask of any shape, or flat indices (each once)
Positions = Union[torch.Tensor, np.ndarray]
#: a count: a plain int on the CPU, a 0-d int64 tensor on the mask's device otherwise (no host sync)
Count = Union[torch.Tensor, int]


def _words(numel: int) -> int:
    return -(-numel // 64)


def pack_bits(mask: torch.Tensor) -> Bits:
    """One bit per element, on the mask's own device (zero-padded to a whole 64-bit word)."""
    if mask.device.type == "cpu":  # numpy packs in one pass
        flat = mask.detach().reshape(-1).to(torch.bool).numpy()
        packed = np.packbits(flat)
        if flat.size % 64 == 0:
            return packed.view(np.uint64)
        words = np.zeros(_words(flat.size), dtype=np.uint64)
        words.view(np.uint8)[:packed.size] = packed
        return words
    flat = mask.detach().reshape(-1).to(torch.uint8)
    flat = torch.nn.functional.pad(flat, (0, (-flat.numel()) % 64))
    return (flat.view(-1, 8) * _BIT_WEIGHTS.to(flat.device)).sum(1, dtype=torch.uint8)


def pack_positions(positions: np.ndarray, numel: int) -> np.ndarray:
    """Flat indices as the packed bits of a `numel`-element mask (on the CPU, where such indices come from)."""
    bits = np.zeros(_words(numel) * 64, dtype=np.bool_)
    bits[positions] = True
    return np.packbits(bits).view(np.uint64)


def row_counts(bits: np.ndarray, nrows: int, ncols: int) -> list[int]:
    """Set bits per row of an (nrows, ncols) mask packed by `pack_positions`: whole words per row when a row is
    a multiple of 64 bits, else the bits unpacked."""
    if ncols % 64 == 0:
        return np.bitwise_count(bits[:nrows * ncols // 64].reshape(nrows, -1)).sum(1, dtype=np.int64).tolist()
    flat = np.unpackbits(bits.view(np.uint8), count=nrows * ncols)
    return flat.reshape(nrows, ncols).sum(1, dtype=np.int64).tolist()


def popcount(bits: Bits) -> Count:
    """Set bits: an int for numpy bits, a 0-d int64 tensor on the device for a tensor."""
    if isinstance(bits, np.ndarray):
        return int(np.bitwise_count(bits).sum())
    return _POPCOUNT.to(bits.device)[bits.long()].sum(dtype=torch.int64)


def _nbytes(bits: Optional[Bits]) -> int:
    if bits is None:
        return 0
    return bits.nbytes if isinstance(bits, np.ndarray) else bits.numel() * bits.element_size()


def _copy(bits: Bits) -> Bits:
    return bits.copy() if isinstance(bits, np.ndarray) else bits.clone()


def _alike(a: Bits, b: Bits) -> bool:
    """Bits of one layer's storage: same kind, length and device (anything else is a new storage)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
    return a.shape == b.shape and a.device == b.device


@dataclass
class Observation:
    """What one sample learned of a layer's mask; every count is None where it is unknown."""

    #: the mask read for this sample, if one was (its set entries are the layer's nnz)
    mask: Optional[torch.Tensor] = None
    #: positions active at any point since the layer's first sample (explored layers only)
    active_ever: Optional[Count] = None
    #: |previous mask XOR this mask| (explored layers only; None at the first sample)
    changed: Optional[Count] = None
    #: layers without an update hook: positions dropped and grown since the previous sample …
    dropped: Optional[Count] = None
    grown: Optional[Count] = None
    #: … and how many of those grown the previous sample-to-sample diff had dropped
    regrown: Optional[Count] = None


@dataclass
class _Layer:
    #: positions the bits hold (whole words: what `pack_positions` needs to pack alike)
    numel: int
    #: the mask at the previous sample
    previous: Bits
    #: every position active at a sample or hooked update since the first sample; None: not explored
    ever: Optional[Bits]
    #: whether drops are kept, for regrowth
    regrowth: bool
    #: positions the last drop removed; None until one was observed
    last_drop: Optional[Bits] = None
    #: popcount(ever) at the previous sample, reused while the mask stays as it was
    active_ever: Optional[Count] = None
    #: a hooked update happened since the previous sample
    updated: bool = False
    #: the source's mask version at the previous sample (None: it has none)
    version: Optional[Hashable] = None
    #: `last_drop` is all zeros (a diff that dropped nothing), so another such diff can keep it
    drop_empty: bool = False

    def bytes(self) -> int:
        return _nbytes(self.previous) + _nbytes(self.ever) + _nbytes(self.last_drop)


class MaskHistory:
    """The bits of every tracked layer: `observe()` at each sample, `record_update()` at each hooked
    topology update, `forget()` when a layer's storage changes (its counts then restart).

    A layer keeps up to three bitsets (previous mask, ever active, last drop), each a whole number of 64-bit
    words: a 118M-parameter model costs ~14 MiB per bitset. Hooked layers (`hooked=True`) learn their drops
    from the updates; one with no update since its previous sample (and an unchanged mask version) costs no
    mask work at all. Neither does an un-hooked layer whose mask version is the one its previous sample diffed
    (torch prune's mask buffer, unreplaced and unedited: `TorchPruneSource.mask_version`): its mask is unchanged.
    """

    def __init__(self) -> None:
        self._layers: dict[str, _Layer] = {}

    @staticmethod
    def bytes_needed(numel: int, *, explored: bool, regrowth: bool) -> int:
        """What one layer of `numel` weights will hold, in bytes (the memory budget counts this)."""
        return _words(numel) * 8 * (1 + explored + regrowth)

    def held_bytes(self) -> int:
        return sum(layer.bytes() for layer in self._layers.values())

    def forget(self, layer: str) -> None:
        """Drops the layer's history: its next sample starts afresh (after its storage changed)."""
        self._layers.pop(layer, None)

    def record_update(self, layer: str, dropped: Positions, grown: Positions) -> Optional[int]:
        """A hooked topology update removed `dropped` and added `grown`; returns how many of the grown
        positions the layer's previous update dropped (None before the first observed drop, or for a layer
        not observed yet). Grown positions count as active ever, even if dropped before the next sample."""
        state = self._layers.get(layer)
        if state is None:
            return None
        return self.record_update_bits(layer, self._pack(dropped, state), self._pack(grown, state))

    def record_update_bits(self, layer: str, dropped_bits: Bits, grown_bits: Bits) -> Optional[int]:
        """`record_update` with the positions already packed (as `pack_bits` / `pack_positions` pack them)."""
        state = self._layers.get(layer)
        if state is None:
            return None
        if not (_alike(dropped_bits, state.previous) and _alike(grown_bits, state.previous)):
            self.forget(layer)  # another storage under the same name: the history no longer applies
            return None
        regrown = None
        if state.regrowth:
            if state.last_drop is not None:
                regrown = int(popcount(grown_bits & state.last_drop))
            state.last_drop, state.drop_empty = dropped_bits, False
        if state.ever is not None:
            state.ever |= grown_bits
        state.updated = True
        return regrown

    def observe(self, layer: str, read_mask: Callable[[], torch.Tensor], *, hooked: bool, explored: bool,
                regrowth: bool, version: Optional[Hashable] = None,
                read_bits: Optional[Callable[[], np.ndarray]] = None) -> Observation:
        """This sample's counts for `layer`, whose mask `read_mask()` returns (a bool tensor with exactly nnz
        set entries). `explored`: keep the ever-active bits (active_ever, changed); `regrowth`: keep the last
        drop (regrown). A hooked layer's drops come from `record_update`; any other's from this diff. `version`
        (None: the source has none): a key that changes whenever the mask may have; while it is the one seen at
        the previous sample, the mask is not read (the observation then carries no `mask`). `read_bits`: the
        mask already packed (`pack_positions`), read instead of it (no `mask` then either): a SparseLab layer's,
        which its update hook packed."""
        state = self._layers.get(layer)
        if hooked and state is not None and not state.updated and (version is None or version == state.version):
            # nothing moved since the previous sample: what it learned still holds
            return Observation(active_ever=state.active_ever, changed=0 if explored else None)
        if not hooked and state is not None and version is not None and version == state.version:
            # an un-hooked mask whose version says it is the one diffed last time: no read, nothing to count
            return self._unchanged(state, None, explored, version)
        if read_bits is None:
            mask = read_mask()
            packed = pack_bits(mask)
        else:
            mask, packed = None, read_bits()
        if state is None or not _alike(state.previous, packed):
            numel = packed.size * 64 if isinstance(packed, np.ndarray) else packed.numel() * 8
            state = self._layers[layer] = _Layer(numel, packed, _copy(packed) if explored else None, regrowth)
            state.active_ever = popcount(packed) if explored else None
            state.version = version
            return Observation(mask=mask, active_ever=state.active_ever)
        if not hooked and isinstance(packed, np.ndarray) and np.array_equal(state.previous, packed):
            return self._unchanged(state, mask, explored, version)
        flipped = state.previous ^ packed  # the zero padding is the same in both, so it never counts
        seen = Observation(mask=mask)
        if hooked:
            if explored:
                seen.changed = popcount(flipped)
        else:
            dropped_bits, grown_bits = state.previous & flipped, packed & flipped
            seen.dropped, seen.grown = popcount(dropped_bits), popcount(grown_bits)
            if regrowth:
                if state.last_drop is not None:
                    seen.regrown = popcount(grown_bits & state.last_drop)
                state.last_drop, state.drop_empty = dropped_bits, False
            if explored:
                seen.changed = seen.dropped + seen.grown
        if state.ever is not None:
            state.ever |= packed
            state.active_ever = popcount(state.ever)
            seen.active_ever = state.active_ever
        state.previous = packed
        state.updated = False
        state.version = version
        return seen

    @staticmethod
    def _unchanged(state: _Layer, mask: Optional[torch.Tensor], explored: bool, version: Optional[Hashable]) -> Observation:
        """An un-hooked layer's mask equal to its previous one, as most are between two pruning steps (read and
        compared, or not read at all when its version is the one diffed last time): nothing to count, and the
        ever-active bits already hold it."""
        seen = Observation(mask=mask, active_ever=state.active_ever, changed=0 if explored else None, dropped=0, grown=0)
        if state.regrowth:
            seen.regrown = 0 if state.last_drop is not None else None
            if not (state.drop_empty and state.last_drop is not None):  # this diff dropped nothing
                previous = state.previous
                state.last_drop = np.zeros_like(previous) if isinstance(previous, np.ndarray) else torch.zeros_like(previous)
                state.drop_empty = True
        state.version = version
        return seen

    @staticmethod
    def _pack(positions: Positions, state: _Layer) -> Bits:
        if isinstance(positions, torch.Tensor):
            return pack_bits(positions)
        return pack_positions(np.asarray(positions, dtype=np.int64), state.numel)
