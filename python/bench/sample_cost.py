"""Cost of one sample next to the memory floor: one plain reduction over every tensor the sample reads.

    .venv/bin/python python/bench/sample_cost.py [--reps 40] [--workloads mlp resnet18 synthetic] [--threads N]

Per workload, a SparsityProfilerCallback(every=10, server=None, overhead_budget=None) is attached (its first
sample taken), then each repetition trains (a few real steps: weights move, algorithms update their masks on
their own schedule) and times, in alternating order,
  floor  one `.sum()` over each profiled layer's storage: the weights (a pruned layer's `weight_orig`) and
         what says which are live (its mask buffer; a Padded-CSR's col_indices and row arrays): the least it
         costs to read what a sample must know, once
  ours   one full sample as the callback takes it at a sampling step (`_sample()`): the model walk, every
         layer's nnz, histogram, range, NaN/Inf, mask history, plugin metrics if any, the record encoded and
         appended to the run log (ours reads the weights and its cached live positions; a mask only when its
         version says it changed)
in the same process, on the same threads, each right after training steps (caches as a real sample finds them).
Reported: the medians and interquartile ranges (IQR) of both, and the median and IQR of the per-repetition
ratio ours / floor (the target: at most 3x); then "warm": the same sample taken again at once, with the caches
the first left warm, which tells the work itself from what cold caches add to it. Wall-clock figures: run it
alone on the machine.

Workloads:
  mlp        SparseLab MLP 64-1024-1024-10 at 90% with RigL (hooked; update_freq 100), as in overhead.py;
             10 training steps between samples, as every=10 makes it (each tenth sample follows an update)
  resnet18   ResNet-18, its convolutions pruned 80% with torch.nn.utils.prune (un-hooked), as in overhead.py;
             one training step between samples (the masks stay as pruned: the mask history reads nothing)
  synthetic  1,000 x Linear(256, 256), each pruned 90% with prune.random_unstructured (65.5M weights, as
             bench/exploration.py); one training step (batch 8) between samples
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from typing import Callable

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from overhead import Workload, fresh, pruned_resnet18, sparselab_mlp, train  # noqa: E402


def synthetic(layers: int = 1000, width: int = 256) -> Workload:
    from torch.nn.utils import prune

    def build():
        torch.manual_seed(0)
        model = nn.Sequential(*[nn.Linear(width, width) for _ in range(layers)])
        for module in model:
            prune.random_unstructured(module, "weight", amount=0.9)
        return model, None

    generator = torch.Generator().manual_seed(0)
    return Workload(f"synthetic {layers} x Linear({width}, {width}), pruned 90% (torch prune)", build,
                    lambda: (torch.randn(8, width, generator=generator), torch.randint(0, width, (8,), generator=generator)),
                    steps=1)


def storage(source) -> list[torch.Tensor]:
    """The tensors a sample of `source` has to read: weights, and the mask or index storage."""
    from sparselab_profiler.sources import (
        DenseWeightSource,
        ParametrizedMaskSource,
        RigLTorchSource,
        SparseLabLayerSource,
        TorchPruneSource,
    )

    if isinstance(source, SparseLabLayerSource):
        csr = source.layer._csr
        return [torch.from_numpy(np.asarray(getattr(csr, a))) for a in ("values", "col_indices", "row_start", "row_nnz", "row_capacity")]
    if isinstance(source, TorchPruneSource):
        return [source._orig.detach(), source.module._buffers[f"{source.param}_mask"]]
    if isinstance(source, ParametrizedMaskSource):
        return [source._original.detach(), source._mask_tensor()]
    if isinstance(source, RigLTorchSource):
        return [source.module.weight.detach(), source.scheduler.backward_masks[source.index]]
    if isinstance(source, DenseWeightSource):
        return [source._local()]
    return [source.stored_values()]


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def quartiles(values: list[float]) -> tuple[float, float]:
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def bench(workload: Workload, reps: int, steps_between: int) -> dict:
    from sparselab_profiler import SparsityProfilerCallback

    config = fresh(workload, "sample cost")
    with tempfile.TemporaryDirectory() as tmp:
        profiler = SparsityProfilerCallback(every=10, logdir=tmp, server=None, report=False, overhead_budget=None)
        profiler.attach(config.model, algorithm=config.algorithm)
        train(config, workload, steps_between)
        profiler._sample()  # warm-up: workspaces sized, live positions cached, as after a run's first samples

        def floor() -> None:
            for source in profiler._sources:
                for tensor in storage(source):
                    tensor.sum()

        floors, ours, costs, warm = [], [], [], []
        for rep in range(reps):
            # each timed right after training, as a sample runs (the other order would find the weights cached)
            for first in ((floor, profiler._sample) if rep % 2 == 0 else (profiler._sample, floor)):
                train(config, workload, steps_between)
                cost_before = profiler.total_cost_ms
                elapsed = timed(first)
                if first is floor:
                    floors.append(elapsed)
                else:
                    ours.append(elapsed)
                    costs.append(profiler.total_cost_ms - cost_before)
                    warm.append(timed(profiler._sample))
        sources = list(profiler._sources)
        weights = sum(s.info.numel for s in sources)
        nbytes = sum(t.numel() * t.element_size() for s in sources for t in storage(s))
        profiler.close()
    ratios = [o / f for o, f in zip(ours, floors)]
    return {"name": workload.name, "layers": len(sources), "weights": weights, "bytes": nbytes,
            "floor": floors, "ours": ours, "cost": costs, "ratio": ratios, "warm": warm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--workloads", nargs="*", default=["mlp", "resnet18", "synthetic"])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)
    workloads = {"mlp": (sparselab_mlp, 10), "resnet18": (lambda: pruned_resnet18("cpu"), 1), "synthetic": (synthetic, 1)}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median [IQR] of {args.reps} repetitions, "
          "floor and sample interleaved")
    print(f"{'workload':<58} {'layers':>6} {'weights':>8} {'MB read':>8} {'floor ms':>17} {'ours ms':>17} "
          f"{'ours/floor':>17} {'cost_ms':>8} {'warm ms':>17}")
    for key in args.workloads:
        build, steps_between = workloads[key]
        r = bench(build(), args.reps, steps_between)
        cells = []
        for column in ("floor", "ours", "ratio"):
            q1, q3 = quartiles(r[column])
            unit = "x" if column == "ratio" else ""
            cells.append(f"{statistics.median(r[column]):>7.2f}{unit} [{q1:.2f}-{q3:.2f}]".rjust(17))
        q1, q3 = quartiles(r["warm"])
        warm = f"{statistics.median(r['warm']):>7.2f} [{q1:.2f}-{q3:.2f}]"
        print(f"{r['name'][:58]:<58} {r['layers']:>6} {r['weights'] / 1e6:>7.2f}M {r['bytes'] / 1e6:>8.1f} "
              f"{' '.join(cells)} {statistics.median(r['cost']):>8.2f} {warm:>17}")
    print("\nours: wall time of the whole sample, its record written (the callback's own cost_ms, next column, "
          "stops before the write); warm: the same sample again at once, caches warm")


if __name__ == "__main__":
    main()
