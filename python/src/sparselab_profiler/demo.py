"""The demo: a SparseLab MLP trained with RigL on scikit-learn's bundled handwritten digits, profiled live.

Run with ``python -m sparselab_profiler.demo`` (the ``sparselab-profiler demo`` CLI starts the
dashboard server first and exports the report afterwards).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from . import SparsityProfilerCallback


def build_model(sparsity: float) -> nn.Module:
    import sparselab

    return nn.Sequential(OrderedDict(
        fc1=sparselab.SparseLinear(64, 256, sparsity=sparsity),
        act1=nn.ReLU(),
        fc2=sparselab.SparseLinear(256, 256, sparsity=sparsity),
        act2=nn.ReLU(),
        head=nn.Linear(256, 10),  # a plain dense head: profiled with an inferred mask
    ))


def load_digits_split(seed: int):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.long)
    return train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return (model(x).argmax(1) == y).float().mean().item()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sparsity", type=float, default=0.9)
    parser.add_argument("--update-freq", type=int, default=50)
    parser.add_argument("--step-delay", type=float, default=0.0, help="seconds to pause per step, to watch slowly")
    parser.add_argument("--server", default="http://127.0.0.1:8080", help="'none' records the run log only")
    parser.add_argument("--logdir", default="./sparsity_runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overhead-budget", default="0.01", help="the profiler's share of training time; 'none' = fixed interval")
    parser.add_argument("--report-every", type=int, default=500, help="print step, loss and test accuracy this often")
    args = parser.parse_args(argv)

    # Two known, harmless warnings of the libraries themselves would drown the demo's own output.
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
    warnings.filterwarnings("ignore", message="Full backward hook is firing")
    import sparselab

    torch.manual_seed(args.seed)
    x_train, x_test, y_train, y_test = load_digits_split(args.seed)
    model = build_model(args.sparsity)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rigl = sparselab.RigL(sparsity=args.sparsity, drop_fraction=0.3, update_freq=args.update_freq, seed=args.seed)
    model.apply(rigl)

    server = None if args.server.lower() == "none" else args.server
    generator = torch.Generator().manual_seed(args.seed)
    budget = None if args.overhead_budget.lower() == "none" else float(args.overhead_budget)
    with SparsityProfilerCallback(every=args.every, logdir=args.logdir, server=server, run_name="digits-mlp-rigl",
                                  overhead_budget=budget) as profiler:
        profiler.attach(model, algorithm=rigl)
        step = 0
        while step < args.steps:
            for batch in torch.randperm(len(x_train), generator=generator).split(args.batch_size):
                loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                rigl.step()
                profiler.step(loss=loss)
                step += 1
                if args.step_delay:
                    time.sleep(args.step_delay)
                if step % args.report_every == 0:
                    print(f"step {step:,}/{args.steps:,}  loss {loss.item():.3f}  test accuracy "
                          f"{accuracy(model, x_test, y_test):.1%}", flush=True)
                if step == args.steps:
                    break
    print(json.dumps({"run": profiler.run_id, "run_log": str(profiler.log_path), "steps": step,
                      "test_accuracy": round(accuracy(model, x_test, y_test), 4), "final_loss": round(loss.item(), 4)}),
          flush=True)


if __name__ == "__main__":
    main()
