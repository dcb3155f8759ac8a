"""Training-step overhead of SparseLab Profiler next to TensorBoard and wandb.watch, in one run.

    .venv/bin/python python/bench/overhead.py [--rounds N] [--steps N] [--device cpu|cuda] [--workloads ...]

Each profiler is measured in its own phase: it trains a copy of the same seeded model beside a fresh
baseline copy without any profiler, the two taking turns in rounds of `--steps` steps (who goes first
alternates), so machine noise hits both alike; only that one profiler is alive (wandb's service process
and TensorBoard's writer thread never run beside ours). A round ends with the profiler's background work
drained, inside its time (TensorBoard's writer flushed: its thread's writes would otherwise land in the
baseline's next round; wandb's service is another process, which no call drains). Per profiler it reports:
  interval     the sampling interval actually in force: steps / samples taken over the measured rounds (ours
               is the sampler's, with its default settings; the others sample every 10 steps by construction)
  ms/step      the median round's, and [the interquartile range over rounds]
  overhead     the median over rounds of (ms/step / the baseline's ms/step in the same round) - 1, and [its
               interquartile range over rounds]: the spread a single round's figure has. "ci" is the 95%
               confidence interval of the median itself (distribution-free, from order statistics): the
               spread of the figure, which more rounds narrow (the per-round IQR stays as it is)
and for ours what it measured itself, as shares of the baseline's training time:
  cost_ms      the callback's own account of its cost (what the sampler sees): its samples, their records'
               writes, and its topology hooks with their events' writes
  in step()    every moment ours spends in the training thread, timed from outside: inside profiler.step()
               (its samples, their writes and the per-step bookkeeping) and in the topology hooks (their
               observation and their events' writes); (writes): the run-log writes alone
and, on the CPU, how much slower the step right after a sample is than the interval's other steps, net of the
baseline's same difference: what a sample leaves the next step to pay (caches refilled), in no in-step figure.
Peers' rows end with their overhead over ours ("Nx ours", against the larger of our wall-clock median
and our in-step share, so noise in our tiny figure cannot flatter the ratio). The last row, "none (A/A)", is
a second copy of the baseline measured the same way: no profiler at all, so its figure is what the machine
and the two model copies (their tensors at other addresses) alone make of nothing, the resolution of this run.
The last line per workload says whether each median clears its spread: whether its confidence interval
leaves out zero.
Profilers sample every 10 steps:
  sparselab-profiler   SparsityProfilerCallback(every=10, server=None) (run log written, no HTTP)
  tensorboard          SummaryWriter.add_histogram + add_scalar per layer every 10 steps
  wandb.watch          wandb.watch(model, log="parameters", log_freq=10), offline mode
  none (A/A)           nothing (--no-null leaves this phase out)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
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
#: the A/A row's name
NULL = "none (A/A)"


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
    #: steps per configuration per round, a multiple of EVERY
    steps: int = 30
    #: rounds: the confidence interval of a median narrows as the square root of their number
    rounds: int = 12


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
                    steps=30, rounds=200)  # ~15 ms a step: the machine drifts over seconds, so many short rounds


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
    #: everything spent inside the profiler's per-step call (ours only)
    in_step_ms: Callable[[], float] = lambda: 0.0
    #: run-log encoding and writes (ours only)
    write_ms: Callable[[], float] = lambda: 0.0
    #: samples taken so far (None: every EVERY steps by construction)
    samples: Optional[Callable[[], int]] = None
    interval: Callable[[], int] = lambda: EVERY
    #: waits for the profiler's background work, at the end of each of its rounds (timed in them)
    drain: Callable[[], None] = lambda: None
    close: Callable[[], None] = lambda: None
    step: int = 0
    round_ms: list[float] = field(default_factory=list)
    #: per position within the sampling interval (step % EVERY), the measured rounds' step times in ms
    position_ms: dict[int, list[float]] = field(default_factory=dict)


def fresh(workload: Workload, name: str) -> Config:
    model, algorithm = workload.build()
    return Config(name, model, algorithm, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))


def ours(workload: Workload, tmp: str) -> Config:
    from sparselab_profiler import SparsityProfilerCallback

    config = fresh(workload, "sparselab-profiler")
    profiler = SparsityProfilerCallback(every=EVERY, logdir=os.path.join(tmp, "runs"), server=None, report=False)
    in_step = [0.0]
    on_topology = profiler._on_topology

    def topology(change) -> None:  # inside the algorithm's step: the hook's observation, then the events' writes
        started = time.perf_counter()
        on_topology(change)
        in_step[0] += change.cost_ms + (time.perf_counter() - started) * 1000

    profiler._on_topology = topology  # before attach, which hands it to the hooks
    profiler.attach(config.model, algorithm=config.algorithm)

    def step(step: int, loss: torch.Tensor) -> None:
        started = time.perf_counter()
        profiler.step()
        in_step[0] += (time.perf_counter() - started) * 1000

    config.after_step = step
    config.profiler_cost_ms = lambda: profiler.total_cost_ms
    config.in_step_ms = lambda: in_step[0]
    config.write_ms = lambda: profiler._recorder.write_ms if profiler._recorder else 0.0
    config.samples = lambda: len(sample_costs(profiler.log_path))
    config.close = profiler.close
    config.interval = lambda: profiler.every
    return config


def sample_costs(log_path) -> list[float]:
    """cost_ms of every sample the run log holds so far."""
    if log_path is None:
        return []
    with open(log_path) as log:
        return [json.loads(line)["cost_ms"] for line in log if '"type":"sample"' in line]


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
    config.drain = writer.flush  # its writer thread's queue written out
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


def null(workload: Workload, tmp: str) -> Config:
    return fresh(workload, NULL)


def train(config: Config, workload: Workload, steps: int) -> float:
    started = time.perf_counter()
    for _ in range(steps):
        step_started = time.perf_counter()
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
        config.position_ms.setdefault(config.step % EVERY, []).append((time.perf_counter() - step_started) * 1000)
    config.drain()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - started) * 1000 / steps


@dataclass
class Result:
    name: str
    #: steps per sample over the measured rounds
    interval: float
    #: ms/step of every round
    round_ms: list[float]
    #: per round: ms/step / the baseline's ms/step in the same round - 1
    overheads: list[float]
    #: the profiler's own measured cost over training time (ours only)
    own: Optional[float] = None
    #: everything spent inside profiler.step() and the topology hooks, over training time (ours only)
    in_step: Optional[float] = None
    #: of which run-log writes (ours only)
    writes: Optional[float] = None
    #: the interval in force at the end (ours: the sampler's)
    final_interval: int = EVERY
    #: how much slower the step after a sample is than the interval's other steps, net of the baseline's same
    #: difference, in ms (CPU only: a GPU step's time is not known without a sync per step)
    after_sample_ms: Optional[float] = None
    #: the baseline's median ms/step over the same rounds
    baseline_ms: float = 0.0

    @property
    def overhead(self) -> float:
        return statistics.median(self.overheads)


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def median_ci(values: list[float]) -> tuple[float, float]:
    """95% confidence interval of the median, distribution-free: the order statistics at n/2 -+ 0.98 sqrt(n)."""
    ordered = sorted(values)
    n = len(ordered)
    half = 0.98 * n ** 0.5
    return ordered[max(0, int(n / 2 - half))], ordered[min(n - 1, int(n / 2 + half + 0.999))]


def measure(workload: Workload, competitor: Config, rounds: int, steps: int) -> Result:
    """The competitor against a fresh baseline, in alternating rounds; only this one profiler is alive."""
    baseline = fresh(workload, "no profiler")
    pair = [baseline, competitor]
    for config in pair:
        train(config, workload, EVERY)  # warm-up, and the profiler's first sample
        config.position_ms.clear()
    cost_before, steps_before = competitor.profiler_cost_ms(), competitor.step
    in_step_before, write_before = competitor.in_step_ms(), competitor.write_ms()
    samples_before = competitor.samples() if competitor.samples else None
    for round_index in range(rounds):
        # alternate who goes first, so a slow start or a noisy neighbour does not always hit the same one
        for config in pair if round_index % 2 == 0 else pair[::-1]:
            config.round_ms.append(train(config, workload, steps))
    steps_taken = competitor.step - steps_before
    interval = float(EVERY)
    if samples_before is not None:
        interval = steps_taken / max(1, competitor.samples() - samples_before)
    final_interval = competitor.interval()
    writes = competitor.write_ms() - write_before
    cost = competitor.profiler_cost_ms() - cost_before
    in_step = competitor.in_step_ms() - in_step_before
    competitor.close()
    base = statistics.median(baseline.round_ms)
    overheads = [c / b - 1 for c, b in zip(competitor.round_ms, baseline.round_ms)]
    mine = competitor.name == "sparselab-profiler"
    per_step = lambda ms: ms / steps_taken / base  # noqa: E731  (a share of the baseline's training time)
    on_cpu = next(competitor.model.parameters()).device.type == "cpu"
    after = after_sample(competitor) - after_sample(baseline) if on_cpu else None
    return Result(competitor.name, interval, list(competitor.round_ms), overheads,
                  per_step(cost) if mine else None, per_step(in_step) if mine else None,
                  per_step(writes) if mine else None, final_interval, after, base)


def after_sample(config: Config) -> float:
    """Median ms of the step right after a sample over the median of the interval's other steps (the sample's own
    step, whose time holds the sample, left out): what the sample costs the next step, as caches refill."""
    others = [ms for position in range(2, EVERY) for ms in config.position_ms[position]]
    return statistics.median(config.position_ms[1]) - statistics.median(others)


def report(workload: Workload, steps: int, results: list[Result]) -> None:
    print(f"{workload.name} ({steps} steps a round, {len(results[0].overheads)} rounds)")
    print(f"  {'profiler':<20} {'interval':>8} {'ms/step [IQR]':>20} {'overhead [IQR]':>24} {'ci of median':>18} "
          f"{'cost_ms':>8} {'in step()':>9} {'(writes)':>9}")
    mine = results[0]
    reference = max(mine.overhead, mine.in_step or 0.0)
    verdicts = []
    for result in results:
        ms_q1, ms_q3 = quartiles(result.round_ms)
        q1, q3 = quartiles(result.overheads)
        lo, hi = median_ci(result.overheads)
        ms_text = f"{statistics.median(result.round_ms):.1f} [{ms_q1:.1f}-{ms_q3:.1f}]"
        over_text = f"{result.overhead:+.2%} [{q1:+.2%} {q3:+.2%}]"
        ci_text = f"[{lo:+.2%} {hi:+.2%}]"
        own = (f"{result.own:>8.2%} {result.in_step:>9.2%} {result.writes:>9.3%}" if result.own is not None
               else f"{'':>8} {'':>9} {'':>9}")
        peer = result is not mine and result.name != NULL
        ratio = f"  ({result.overhead / reference:,.0f}x ours)" if peer and reference > 0 else ""
        interval = f"{result.interval:.1f}" if result is mine else f"{EVERY}"
        print(f"  {result.name:<20} {interval:>8} {ms_text:>20} {over_text:>24} {ci_text:>18} {own}{ratio}")
        clears = lo > 0 or hi < 0
        verdicts.append(f"{result.name} {'clears' if clears else 'does NOT clear'} its spread "
                        f"({result.overhead:+.2%}, ci {ci_text}{'' if clears else ' holds 0'})")
    if mine.after_sample_ms is not None:
        print("  step after a sample, over the interval's others, net of the baseline's (what a sample leaves the next "
              "step: caches to refill, a writer thread's work): " + ", ".join(
                  f"{r.name} {r.after_sample_ms:+.3f} ms ({r.after_sample_ms / (EVERY * r.baseline_ms):+.2%} of training time)"
                  for r in results))
    print(f"  interval held: {'yes' if mine.final_interval == EVERY and abs(mine.interval - EVERY) < 0.5 else 'NO'} "
          f"(every={mine.final_interval} at the end, {mine.interval:.2f} steps a sample)")
    print("  " + "; ".join(verdicts))
    for result in results[1:]:
        if result.name == NULL:
            lo, hi = median_ci(result.overheads)
            print(f"  resolution: nothing measured the same way reads {result.overhead:+.2%} (ci [{lo:+.2%} {hi:+.2%}]); "
                  "a median inside that interval cannot be told from no cost in this run")
        elif reference > 0:
            print(f"  {result.name} / ours: {result.overhead / reference:,.1f}x (wall-clock {result.overhead:+.2%} over "
                  f"ours {reference:+.2%}: the larger of our wall-clock {mine.overhead:+.2%} and in-step {mine.in_step:.2%})")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, help="rounds per configuration (default: the workload's own: 200 for "
                        "the MLP, 12 for the others)")
    parser.add_argument("--steps", type=int, help="steps per configuration per round, a multiple of 10 (default: 30)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workloads", nargs="*", default=["mlp", "resnet18"],
                        help="mlp, resnet18 (CPU table); resnet50, gpt2 (GPU table)")
    parser.add_argument("--no-null", action="store_true", help="leave out the A/A phase (a baseline against another)")
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
          f"sampling every {EVERY} steps")
    print("each profiler runs against its own baseline in alternating rounds, alone (wandb's service and "
          "TensorBoard's writer never run beside ours); medians with [interquartile range over rounds]\n")
    started = time.perf_counter()
    for key in args.workloads:
        workload = workloads[key]()
        steps, rounds = args.steps or workload.steps, args.rounds or workload.rounds
        with tempfile.TemporaryDirectory() as tmp:
            # wandb is not installed everywhere (the GPU machine has no network to fetch it): then its row is left out
            competitors = [ours, tensorboard] + ([wandb_watch] if importlib.util.find_spec("wandb") else [])
            competitors += [] if args.no_null else [null]
            results = [measure(workload, make(workload, tmp), rounds, steps) for make in competitors]
        report(workload, steps, results)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
