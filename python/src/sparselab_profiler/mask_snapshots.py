"""Bit-packed mask snapshots: inferred drop/grow counts for sources that expose no update hook."""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

_BIT_WEIGHTS = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8)
_POPCOUNT = torch.tensor([bin(i).count("1") for i in range(256)], dtype=torch.uint8)


def pack_bits(mask: torch.Tensor) -> torch.Tensor:
    """One bit per element, on the mask's own device (zero-padded to a whole byte)."""
    if mask.device.type == "cpu":  # numpy packs in one pass
        return torch.from_numpy(np.packbits(mask.detach().reshape(-1).to(torch.bool).numpy()))
    flat = mask.detach().reshape(-1).to(torch.uint8)
    flat = torch.nn.functional.pad(flat, (0, (-flat.numel()) % 8))
    return (flat.view(-1, 8) * _BIT_WEIGHTS.to(flat.device)).sum(1, dtype=torch.uint8)


def popcount(packed: torch.Tensor) -> torch.Tensor:
    """Set bits in a uint8 tensor, as a 0-d int64 tensor on its device."""
    if packed.device.type == "cpu":
        return torch.tensor(int(np.bitwise_count(packed.numpy()).sum()))
    return _POPCOUNT.to(packed.device)[packed.long()].sum(dtype=torch.int64)


class MaskSnapshots:
    """Keeps each layer's last mask at one bit per weight (a 118M-parameter model costs ~14 MiB), on the
    device the mask lives on, so diffing a GPU mask needs no host sync."""

    def __init__(self) -> None:
        self._packed: dict[str, torch.Tensor] = {}

    def forget(self, layer: str) -> None:
        """Drops the layer's snapshot: its next mask starts afresh (after its storage changed)."""
        self._packed.pop(layer, None)

    def diff(self, layer: str, mask: torch.Tensor) -> Optional[tuple[torch.Tensor, torch.Tensor]]:
        """(dropped, grown) since the previous snapshot of `layer` as 0-d tensors, None for the first one.

        A position dropped and regrown between two snapshots is invisible here, so these counts are
        lower bounds and are reported as inferred, never as exact.
        """
        packed = pack_bits(mask)
        previous = self._packed.get(layer)
        self._packed[layer] = packed
        if previous is None or previous.shape != packed.shape or previous.device != packed.device:
            return None
        # the zero padding is the same in both snapshots, so it never counts
        return popcount(previous & ~packed), popcount(~previous & packed)
