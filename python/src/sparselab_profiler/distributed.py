"""Distributed training: sharded weights (FSDP2's DTensor) are summarised per rank and combined with
one batched all_reduce per reduction, so every rank's counts add up to exact global ones."""

from __future__ import annotations

import torch


def rank_and_world() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_sharded(tensor: object) -> bool:
    """A DTensor split across ranks (FSDP2 uses Shard(0)); replicated tensors (DDP) hold the whole weight."""
    placements = getattr(tensor, "placements", None)
    return placements is not None and any(p.is_shard() for p in placements)


def local_part(tensor: torch.Tensor) -> torch.Tensor:
    """This rank's shard of a DTensor, or the tensor itself."""
    return tensor.to_local() if hasattr(tensor, "to_local") else tensor


def all_reduce(values: list[float], op: str) -> list[float]:
    """One collective over a flat float64 vector (exact for integers below 2**53); `op` is "sum" or "max"."""
    import torch.distributed as dist

    if not values:
        return values
    backend = dist.get_backend()
    device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
    flat = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(flat, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MAX)
    return flat.tolist()
