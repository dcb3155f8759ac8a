"""Size of the exported report for a 100-layer x 10k-step run, measured on a real one.

    .venv/bin/python python/bench/report_size.py [--layers 100] [--steps 10000]

Trains a stack of pruned Linear layers (torch prune, 50% then 60%... as training goes) with the
profiler sampling every 10 steps, then exports the run with the CLI and prints the run log's and the
report's sizes and what the charts hold.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from sparselab_profiler import SparsityProfilerCallback
from sparselab_profiler.server_launcher import locate_cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=100)
    parser.add_argument("--steps", type=int, default=10_000)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(32, 32), nn.ReLU()) for _ in range(args.layers)], nn.Linear(32, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(64, 32), torch.randint(0, 4, (64,))
    with tempfile.TemporaryDirectory() as tmp:
        started = time.time()
        with SparsityProfilerCallback(every=10, logdir=tmp, server=None, overhead_budget=None, report=False,
                                      layer_regex=r"^\d+\.0$") as profiler:
            profiler.attach(model)
            for step in range(1, args.steps + 1):
                if step % 2000 == 1:  # prune a little more every 2000 steps: real drop events
                    for block in model[:-1]:
                        prune.l1_unstructured(block[0], "weight", amount=0.2)
                optimizer.zero_grad()
                F.cross_entropy(model(x), y).backward()
                optimizer.step()
                profiler.step()
        trained = time.time() - started
        run_dir = profiler.log_path.parent
        report = run_dir / "report.html"
        subprocess.run([*locate_cli(), "export", str(run_dir), "-o", str(report)], check=True)
        html = report.read_text()
        mib = lambda path: path.stat().st_size / 2**20  # noqa: E731
        print(f"{args.layers} layers x {args.steps} steps, sampled every 10 ({trained:.0f} s of training)")
        print(f"run log  {mib(profiler.log_path):7.1f} MiB")
        print(f"report   {mib(report):7.1f} MiB  (vega+vega-lite+vega-embed inlined: ~0.8 MiB; CSV of every sample included)")
        samples = sum(1 for line in profiler.log_path.open() if line.startswith('{"run"') and '"type":"sample"' in line)
        print(f"{samples} samples: the sparsity chart draws {max(50, min(500, 20_000 // args.layers))} per layer, "
              f"the CSV {'(included) ' if 'csv-link' in html else ''}keeps all {samples * args.layers} rows")


if __name__ == "__main__":
    main()
