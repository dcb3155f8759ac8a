"""Training-step overhead of SparseLab Profiler next to TensorBoard and wandb.watch, in one run.

    .venv/bin/python python/bench/overhead.py [--rounds 8] [--steps N] [--device cpu|cuda] [--workloads ...]

Each profiler is measured in its own phase: it trains a copy of the same seeded model beside a fresh
baseline copy without any profiler, the two taking turns in rounds of `--steps` steps (who goes first
alternates), so machine noise hits both alike; only that one profiler is alive (wandb's service process
and TensorBoard's writer thread never run beside ours). Per profiler it reports the sampling interval
at the end (ours adapts to its 1% budget), the median round's ms/step, the overhead against the
baseline (the median over rounds of its ms/step over the baseline's in the same round), and for ours
the cost it measured itself. "Nx ours" divides by the larger of our two figures.
Profilers sample every 10 steps:
  sparselab-profiler   SparsityProfilerCallback(every=10, server=None) (run log written, no HTTP)
  tensorboard          SummaryWriter.add_histogram + add_scalar per layer every 10 steps
  wandb.watch          wandb.watch(model, log="parameters", log_freq=10), offline mode
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

EVERY = 10


def cross_entropy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(model(x), y)


@dataclass
class Workload:
    name: str
    build: Callable[[], tuple[nn.Module, object]]  # model, SparseLab algorithm or None
    batch: Callable[[], tuple[torch.Tensor, torch.Tensor]]
    loss: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] = cross_entropy
    #: forward and loss under torch.autocast to this dtype (None: full precision)
    autocast: Optional[torch.dtype] = None
    #: steps per round: a round should last seconds, or the machine's noise outweighs what is measured
    steps: int = 30


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
                    lambda: (lambda i: (x[i], y[i]))(torch.randint(0, len(x), (256,), generator=generator)),
                    steps=300)  # ~9 ms a step


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


def prune_globally(modules: list[nn.Module], amount: float = 0.8) -> None:
    from torch.nn.utils import prune

    prune.global_unstructured([(m, "weight") for m in modules], pruning_method=prune.L1Unstructured, amount=amount)


def pruned_resnet50(device: str, batch: int, size: int) -> Workload:
    """The GPU table's image model: ResNet-50 in bf16 autocast, its convolutions pruned 80%."""
    import torchvision

    def build():
        torch.manual_seed(0)
        model = torchvision.models.resnet50(num_classes=1000).to(device)
        prune_globally([m for m in model.modules() if isinstance(m, nn.Conv2d)])
        return model, None

    generator = torch.Generator(device=device).manual_seed(0)
    return Workload(f"ResNet-50, conv weights pruned 80% (torch prune), bf16, {size}x{size} bs{batch}", build,
                    lambda: (torch.randn(batch, 3, size, size, generator=generator, device=device),
                             torch.randint(0, 1000, (batch,), generator=generator, device=device)),
                    autocast=torch.bfloat16)


def pruned_gpt2(device: str, batch: int, context: int) -> Workload:
    """The GPU table's language model: GPT-2 124M (its own config, random init) in bf16 autocast, the
    attention and MLP projections pruned 80%."""
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.pytorch_utils import Conv1D

    config = GPT2Config(n_positions=max(1024, context))

    def build():
        torch.manual_seed(0)
        model = GPT2LMHeadModel(config).to(device)
        prune_globally([m for m in model.modules() if isinstance(m, Conv1D)])
        return model, None

    generator = torch.Generator(device=device).manual_seed(0)

    def tokens():
        ids = torch.randint(0, config.vocab_size, (batch, context), generator=generator, device=device)
        return ids, ids

    return Workload(f"GPT-2 124M, projections pruned 80% (torch prune), bf16, {batch}x{context} tokens", build, tokens,
                    loss=lambda model, ids, labels: model(input_ids=ids, labels=labels).loss, autocast=torch.bfloat16)


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


def fresh(workload: Workload, name: str) -> Config:
    model, algorithm = workload.build()
    return Config(name, model, algorithm, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))


def ours(workload: Workload, tmp: str) -> Config:
    from sparselab_profiler import SparsityProfilerCallback

    config = fresh(workload, "sparselab-profiler")
    profiler = SparsityProfilerCallback(every=EVERY, logdir=os.path.join(tmp, "runs"), server=None, report=False)
    profiler.attach(config.model, algorithm=config.algorithm)
    config.after_step = lambda step, loss: profiler.step()
    config.profiler_cost_ms = lambda: profiler.total_cost_ms
    config.close = profiler.close
    config.interval = lambda: profiler.every
    return config


def tensorboard(workload: Workload, tmp: str) -> Config:
    from torch.utils.tensorboard import SummaryWriter

    config = fresh(workload, "tensorboard")
    writer = SummaryWriter(os.path.join(tmp, "tb"))
    # every weight, SparseLab's 1-D `_values` included (biases left out), as a user would log them
    layers = [(n, p) for n, p in config.model.named_parameters() if not n.endswith("bias")]

    def tensorboard_step(step: int, loss: torch.Tensor) -> None:
        if step % EVERY == 0:
            for name, param in layers:
                writer.add_histogram(name, param, step)
                writer.add_scalar(f"sparsity/{name}", float((param == 0).float().mean()), step)

    config.after_step = tensorboard_step
    config.close = writer.close
    return config


def wandb_watch(workload: Workload, tmp: str) -> Config:
    import wandb

    config = fresh(workload, "wandb.watch")
    run = wandb.init(mode="offline", dir=tmp, project="sparselab-profiler-bench")
    run.watch(config.model, log="parameters", log_freq=EVERY)
    config.after_step = lambda step, loss: run.log({"loss": loss.item()}, step=step) if step % EVERY == 0 else None
    config.close = run.finish
    return config


def train(config: Config, workload: Workload, steps: int) -> float:
    started = time.perf_counter()
    for _ in range(steps):
        x, y = workload.batch()
        with torch.autocast(x.device.type, dtype=workload.autocast or torch.float32, enabled=workload.autocast is not None):
            loss = workload.loss(config.model, x, y)
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


@dataclass
class Result:
    name: str
    interval: int
    ms: float
    #: median over rounds of (ms/step / the baseline's ms/step in the same round) - 1
    overhead: float
    #: the profiler's own measured cost over training time (ours only)
    own: Optional[float] = None


def measure(workload: Workload, competitor: Config, rounds: int, steps: int) -> Result:
    """The competitor against a fresh baseline, in alternating rounds; only this one profiler is alive."""
    baseline = fresh(workload, "no profiler")
    pair = [baseline, competitor]
    for config in pair:
        train(config, workload, EVERY)  # warm-up, and the profiler's first sample
    cost_before, steps_before = competitor.profiler_cost_ms(), competitor.step
    for round_index in range(rounds):
        # alternate who goes first, so a slow start or a noisy neighbour does not always hit the same one
        for config in pair if round_index % 2 == 0 else pair[::-1]:
            config.round_ms.append(train(config, workload, steps))
    competitor.close()
    base = statistics.median(baseline.round_ms)
    overhead = statistics.median(c / b for c, b in zip(competitor.round_ms, baseline.round_ms)) - 1
    own = (competitor.profiler_cost_ms() - cost_before) / (competitor.step - steps_before) / base
    return Result(competitor.name, competitor.interval(), statistics.median(competitor.round_ms), overhead,
                  own if competitor.name == "sparselab-profiler" else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, help="steps per configuration per round, a multiple of 10 (default: the "
                        "workload's own: 300 for the MLP, 30 for the others)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workloads", nargs="*", default=["mlp", "resnet18"],
                        help="mlp, resnet18 (CPU table); resnet50, gpt2 (GPU table)")
    parser.add_argument("--batch", type=int, help="override the GPU workloads' batch (resnet50: 256, gpt2: 8)")
    parser.add_argument("--size", type=int, help="override their input size (resnet50: 224 pixels, gpt2: 1024 tokens)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    os.environ.setdefault("WANDB_SILENT", "true")

    workloads = {
        "mlp": sparselab_mlp,
        "resnet18": lambda: pruned_resnet18(args.device),
        "resnet50": lambda: pruned_resnet50(args.device, args.batch or 256, args.size or 224),
        "gpt2": lambda: pruned_gpt2(args.device, args.batch or 8, args.size or 1024),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}; "
          f"{args.rounds} rounds per configuration, sampling every {EVERY} steps")
    print("each profiler runs against its own baseline in alternating rounds, alone (wandb's service and "
          "TensorBoard's writer never run beside ours)\n")
    for key in args.workloads:
        workload = workloads[key]()
        with tempfile.TemporaryDirectory() as tmp:
            # wandb is not installed everywhere (the GPU machine has no network to fetch it): then its row is left out
            competitors = [ours, tensorboard] + ([wandb_watch] if importlib.util.find_spec("wandb") else [])
            results = [measure(workload, make(workload, tmp), args.rounds, args.steps or workload.steps) for make in competitors]
        print(f"{workload.name} ({args.steps or workload.steps} steps a round)")
        print(f"  {'profiler':<20} {'interval':>8} {'ms/step':>9} {'overhead':>9} {'self-measured':>14}")
        mine = results[0]
        reference = max(mine.overhead, mine.own or 0.0)
        for result in results:
            own_text = f"{result.own:>14.2%}" if result.own is not None else f"{'':>14}"
            ratio = f"  ({result.overhead / reference:,.0f}x ours)" if result is not mine and reference > 0 else ""
            print(f"  {result.name:<20} {result.interval:>8} {result.ms:>9.1f} {result.overhead:>+9.2%} {own_text}{ratio}")
        print()


if __name__ == "__main__":
    main()
