"""Cost of the mask history (active_ever, mask_changed, regrown, inferred drop/grow) per sample, next to a floor.

    .venv/bin/python python/bench/exploration.py [--samples 50] [--layers 1000] [--threads 1] [--device cpu|cuda]

Per sample, the tracker packs each layer's mask to bits, ORs them into the ever-active bits and popcounts
the XOR with the previous sample (and, for layers without an update hook, the dropped, grown and regrown
bits): `MaskHistory.observe` over every layer, given the mask already read (reading it is the source's
cost, as for nnz). The floor is one plain reduction pass over the same masks, `torch.count_nonzero` (what
counting nnz from a mask costs anyway). Between two samples each layer's mask moves (about 1% of its
active positions dropped, as many grown), outside the timing; a hooked layer's `record_update` is the
hook's cost, also outside it. One torch thread by default: numpy's bit operations use one, so both columns
are measured alike (and on a busy 2-core machine a second thread makes the floor jump by milliseconds).
Each row is the median over `--samples` samples, after two warm-up samples.

Workloads:
  prune        `--layers` Linear(256, 256), torch.nn.utils.prune.random_unstructured at 90%: un-hooked layers,
               their masks moved between samples, then left as they were (as between two pruning steps)
  sparselab    the demo's SparseLab MLP (64-256-256, 90%) as a hooked algorithm's layers, right after an
               update (bits rebuilt) and with no update since (nothing to do), and without a hook
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch
from torch import nn
from torch.nn.utils import prune

from sparselab_profiler.mask_history import MaskHistory


def move(mask: torch.Tensor, generator: torch.Generator, share: float = 0.01) -> None:
    """Drops about `share` of the mask's active positions and grows about as many inactive ones, in place
    (positions drawn with replacement: a rare repeat moves one fewer)."""
    flat = mask.view(-1)
    active, inactive = flat.nonzero().view(-1), (~flat).nonzero().view(-1)
    n = max(1, int(share * active.numel()))
    flat[active[torch.randint(active.numel(), (n,), generator=generator).to(flat.device)]] = False
    flat[inactive[torch.randint(inactive.numel(), (n,), generator=generator).to(flat.device)]] = True


def timed(fn: Callable[[], object], device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) * 1000


def bench(masks: dict[str, torch.Tensor], samples: int, device: str, hooked: bool = False,
          updated: bool = True) -> tuple[float, float]:
    """(median tracker ms, median floor ms) per sample over all of `masks`."""
    history = MaskHistory()
    generator = torch.Generator().manual_seed(0)
    tracker, floor = [], []
    for sample in range(samples + 2):
        if sample and updated:
            for name, mask in masks.items():
                move(mask, generator)
                if hooked:  # what a hook reports: the history is told an update happened
                    history.record_update(name, torch.zeros_like(mask), torch.zeros_like(mask))

        def observe() -> None:
            for name, mask in masks.items():
                history.observe(name, lambda mask=mask: mask, hooked=hooked, explored=True, regrowth=True)

        def count() -> None:
            for mask in masks.values():
                torch.count_nonzero(mask)

        t, f = timed(observe, device), timed(count, device)
        if sample >= 2:
            tracker.append(t)
            floor.append(f)
    return statistics.median(tracker), statistics.median(floor)


def pruned_masks(layers: int, device: str) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    masks = {}
    for i in range(layers):
        linear = nn.Linear(256, 256, device=device)
        prune.random_unstructured(linear, "weight", amount=0.9)
        masks[str(i)] = linear.weight_mask.bool()  # what TorchPruneSource.mask() reads
    return masks


def sparselab_masks() -> dict[str, torch.Tensor]:
    from sparselab_profiler.demo import build_model
    from sparselab_profiler.sources import SparseLabLayerSource

    torch.manual_seed(0)
    model = build_model(0.9)
    return {name: SparseLabLayerSource(name, getattr(model, name)).mask().clone() for name in ("fc1", "fc2")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--layers", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import warnings

    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")

    rows = []
    masks = pruned_masks(args.layers, args.device)
    rows.append((f"{args.layers} x prune Linear(256, 256) 90%", masks, bench(masks, args.samples, args.device)))
    rows.append(("  the same, masks unchanged since", masks, bench(masks, args.samples, args.device, updated=False)))
    del masks
    if args.device == "cpu":  # SparseLab keeps its CSR on the host
        masks = sparselab_masks()
        rows.append(("SparseLab MLP (demo), hooked, updated", masks, bench(masks, args.samples, "cpu", hooked=True)))
        rows.append(("SparseLab MLP (demo), hooked, no update", masks,
                     bench(masks, args.samples, "cpu", hooked=True, updated=False)))
        rows.append(("SparseLab MLP (demo), un-hooked", masks, bench(masks, args.samples, "cpu")))

    print(f"device {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"median of {args.samples} samples")
    print(f"{'workload':<42} {'layers':>6} {'weights':>9} {'tracker ms':>11} {'floor ms':>9} {'ratio':>7}")
    for name, masks, (tracker, floor) in rows:
        weights = sum(m.numel() for m in masks.values())
        print(f"{name:<42} {len(masks):>6} {weights / 1e6:>8.2f}M {tracker:>11.3f} {floor:>9.3f} {tracker / floor:>6.1f}x")


if __name__ == "__main__":
    main()
