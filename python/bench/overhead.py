"""Training-step overhead of SparseLab Profiler next to TensorBoard and wandb.watch, in one run.

    .venv/bin/python python/bench/overhead.py [--rounds 5] [--steps 40] [--device cpu|cuda] [--workloads ...]

Every configuration trains its own copy of the same seeded model; the configurations take turns in
rounds of `--steps` steps (the first one rotating) so machine noise hits them alike. Per configuration
it reports the sampling interval at the end (ours adapts to its 1% budget), the median round's
ms/step, the overhead against no profiler (the median over rounds of its ms/step over the baseline's in
the same round), and for ours the cost it measured itself.
Profilers sample every 10 steps:
  sparselab-profiler   SparsityProfilerCallback(every=10, server=None) (run log written, no HTTP)
  tensorboard          SummaryWriter.add_histogram + add_scalar per layer every 10 steps
  wandb.watch          wandb.watch(model, log="parameters", log_freq=10), offline mode
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

EVERY = 10


@dataclass
class Workload:
    name: str
    build: Callable[[], tuple[nn.Module, object]]  # model, SparseLab algorithm or None
    batch: Callable[[], tuple[torch.Tensor, torch.Tensor]]


def sparselab_mlp() -> Workload:
    import sparselab
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)

    def build():
        torch.manual_seed(0)
        model = nn.Sequential(sparselab.SparseLinear(64, 1024, sparsity=0.9), nn.ReLU(),
                              sparselab.SparseLinear(1024, 1024, sparsity=0.9), nn.ReLU(),
                              sparselab.SparseLinear(1024, 10, sparsity=0.9))
        rigl = sparselab.RigL(sparsity=0.9, drop_fraction=0.3, update_freq=100, seed=0)
        model.apply(rigl)
        return model, rigl

    generator = torch.Generator().manual_seed(0)
    return Workload("SparseLab MLP 64-1024-1024-10, RigL 90%, digits bs256", build,
                    lambda: (lambda i: (x[i], y[i]))(torch.randint(0, len(x), (256,), generator=generator)))


def pruned_resnet18(device: str) -> Workload:
    import torchvision
    from torch.nn.utils import prune

    def build():
        torch.manual_seed(0)
        model = torchvision.models.resnet18(num_classes=10).to(device)
        convs = [(m, "weight") for m in model.modules() if isinstance(m, nn.Conv2d)]
        prune.global_unstructured(convs, pruning_method=prune.L1Unstructured, amount=0.8)
        return model, None

    generator = torch.Generator().manual_seed(0)
    size, batch = (64, 32) if device == "cpu" else (224, 256)
    return Workload(f"ResNet-18, conv weights pruned 80% (torch prune), {size}x{size} bs{batch}", build,
                    lambda: (torch.randn(batch, 3, size, size, generator=generator).to(device),
                             torch.randint(0, 10, (batch,), generator=generator).to(device)))


@dataclass
class Config:
    name: str
    model: nn.Module
    algorithm: object
    optimizer: torch.optim.Optimizer
    after_step: Callable[[int, torch.Tensor], None] = lambda step, loss: None
    profiler_cost_ms: Callable[[], float] = lambda: 0.0
    interval: Callable[[], int] = lambda: EVERY
    close: Callable[[], None] = lambda: None
    step: int = 0
    round_ms: list[float] = field(default_factory=list)


def make_configs(workload: Workload, tmp: str) -> list[Config]:
    configs = []

    def fresh(name: str) -> Config:
        model, algorithm = workload.build()
        return Config(name, model, algorithm, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))

    configs.append(fresh("no profiler"))

    ours = fresh("sparselab-profiler")
    from sparselab_profiler import SparsityProfilerCallback

    profiler = SparsityProfilerCallback(every=EVERY, logdir=os.path.join(tmp, "runs"), server=None, report=False)
    profiler.attach(ours.model, algorithm=ours.algorithm)
    ours.after_step = lambda step, loss: profiler.step()
    ours.profiler_cost_ms = lambda: profiler.total_cost_ms
    ours.close = profiler.close
    ours.interval = lambda: profiler.every
    configs.append(ours)

    tb = fresh("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(os.path.join(tmp, "tb"))
    # every weight, SparseLab's 1-D `_values` included (biases left out), as a user would log them
    layers = [(n, p) for n, p in tb.model.named_parameters() if not n.endswith("bias")]

    def tensorboard_step(step: int, loss: torch.Tensor) -> None:
        if step % EVERY == 0:
            for name, param in layers:
                writer.add_histogram(name, param, step)
                writer.add_scalar(f"sparsity/{name}", float((param == 0).float().mean()), step)

    tb.after_step = tensorboard_step
    tb.close = writer.close
    configs.append(tb)

    wb = fresh("wandb.watch")
    import wandb

    run = wandb.init(mode="offline", dir=tmp, project="sparselab-profiler-bench")
    run.watch(wb.model, log="parameters", log_freq=EVERY)
    wb.after_step = lambda step, loss: run.log({"loss": loss.item()}, step=step) if step % EVERY == 0 else None
    wb.close = run.finish
    configs.append(wb)
    return configs


def train(config: Config, workload: Workload, steps: int) -> float:
    started = time.perf_counter()
    for _ in range(steps):
        x, y = workload.batch()
        loss = F.cross_entropy(config.model(x), y)
        config.optimizer.zero_grad()
        loss.backward()
        config.optimizer.step()
        if config.algorithm is not None:
            config.algorithm.step()
        config.step += 1
        config.after_step(config.step, loss)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - started) * 1000 / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=30, help="steps per configuration per round (a multiple of 10)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workloads", nargs="*", default=["mlp", "resnet18"])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    os.environ.setdefault("WANDB_SILENT", "true")

    workloads = {"mlp": sparselab_mlp, "resnet18": lambda: pruned_resnet18(args.device)}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}; "
          f"{args.rounds} rounds x {args.steps} steps per configuration, sampling every {EVERY} steps\n")
    for key in args.workloads:
        workload = workloads[key]()
        with tempfile.TemporaryDirectory() as tmp:
            configs = make_configs(workload, tmp)
            for config in configs:
                train(config, workload, EVERY)  # warm-up, and the profilers' first samples
            costs_before = {c.name: c.profiler_cost_ms() for c in configs}
            steps_before = {c.name: c.step for c in configs}
            for round_index in range(args.rounds):
                # rotate who goes first, so a slow start or a noisy neighbour does not always hit the same one
                for config in configs[round_index % len(configs):] + configs[:round_index % len(configs)]:
                    config.round_ms.append(train(config, workload, args.steps))
            base = statistics.median(configs[0].round_ms)
            baseline_rounds = configs[0].round_ms
            ours_overhead = 0.0
            print(workload.name)
            print(f"  {'profiler':<20} {'interval':>8} {'ms/step':>9} {'overhead':>9} {'self-measured':>14}")
            rows = []
            for config in configs:
                ms = statistics.median(config.round_ms)
                # paired: each round against the baseline's same round, so slow drifts of the machine cancel
                overhead = statistics.median(c / b for c, b in zip(config.round_ms, baseline_rounds)) - 1
                steps = config.step - steps_before[config.name]
                own = (config.profiler_cost_ms() - costs_before[config.name]) / steps
                rows.append((config.name, config.interval(), ms, overhead, own))
                if config.name == "sparselab-profiler":
                    ours_overhead = max(overhead, own / base)
            for name, interval, ms, overhead, own in rows:
                own_text = f"{own / base:>14.2%}" if name == "sparselab-profiler" else f"{'':>14}"
                ratio = f"  ({overhead / ours_overhead:,.0f}x ours)" if name in ("tensorboard", "wandb.watch") and ours_overhead > 0 else ""
                print(f"  {name:<20} {interval:>8} {ms:>9.1f} {overhead:>+9.2%} {own_text}{ratio}")
            print()
            for config in configs:
                config.close()


if __name__ == "__main__":
    main()
