"""Cost of forwarding one sample into the user's W&B run, on the training thread, at 100 and 1,000 layers.

    WANDB_MODE=offline .venv/bin/python python/bench/wandb_forward.py [--samples 40] [--bins 64]

A real `wandb` run in offline mode (a temporary directory; nothing leaves the machine). Each round the "user"
commits one row of its own (`run.log({"loss": …})`) and the profiler forwards one sample of `layers` layers
with `bins`-bin histograms (`WandbForwarder.forward`: building the row with its `wandb.Histogram`s and
`run.log(row, commit=False)`); only the forward is timed. The median over `--samples` rounds, after two warm-up
rounds; per-layer keys go to the 64 largest layers (DEFAULT_MAX_LAYERS), so 1,000 layers cost little more
than 64 beyond their model totals.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import wandb

from sparselab_profiler.records import Histogram, LayerSample, SampleRecord
from sparselab_profiler.wandb_forward import DEFAULT_MAX_LAYERS, WandbForwarder


def sample(step: int, layers: int, bins: int) -> SampleRecord:
    counts = [(i * 7 + step) % 50 for i in range(bins)]
    return SampleRecord(run="bench", seq=step + 1, step=step, time=float(step), cost_ms=1.0, step_ms=10.0, layers=[
        LayerSample(name=f"blocks.{i}.weight", nnz=sum(counts), numel=4096 + i, sparsity=1 - sum(counts) / (4096 + i),
                    bytes=8 * sum(counts), dense_bytes=4 * (4096 + i), hist=Histogram(-1.0, 1.0, counts), nonfinite=0)
        for i in range(layers)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--bins", type=int, default=64)
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    print(f"wandb {wandb.__version__}, offline, {args.bins}-bin histograms, per-layer keys for the {DEFAULT_MAX_LAYERS} largest layers")
    print(f"{'layers':>7}  {'forward ms (median)':>20}  {'p90 ms':>8}")
    for layers in (100, 1000):
        with tempfile.TemporaryDirectory() as directory:
            run = wandb.init(project="bench", dir=directory)
            forwarder = WandbForwarder(run)
            samples = [sample(step, layers, args.bins) for step in range(args.samples + 2)]
            times = []
            for step, record in enumerate(samples):
                run.log({"loss": 1.0 / (step + 1)})  # the user's own row, committed
                started = time.perf_counter()
                forwarder.forward(record)
                if step >= 2:
                    times.append((time.perf_counter() - started) * 1000)
            run.finish()
            times.sort()
            print(f"{layers:>7}  {statistics.median(times):>20.2f}  {times[int(0.9 * (len(times) - 1))]:>8.2f}")


if __name__ == "__main__":
    main()
