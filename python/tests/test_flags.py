"""The flags of docs/flags.md on real training: each pathology is induced for real in a tiny CPU run that the
callback records (fixed interval, so samples are deterministic), and `sparselab-profiler check --json` reads
the run log back. Each test asserts the rule, severity, layer and step range that check reports."""

from __future__ import annotations

import json
import math
import subprocess
from collections import OrderedDict, defaultdict
from pathlib import Path

import numpy as np
import pytest
import sparselab
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback, demo
from sparselab_profiler.server_launcher import find_cli

CLI = find_cli()
pytestmark = pytest.mark.skipif(CLI is None, reason="needs Node.js and the built CLI (scripts/setup.sh)")


# ── helpers ───────────────────────────────────────────────────────────


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models train ~50x faster on one thread than with OpenMP workers competing for a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def check(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "check", str(path), *args], capture_output=True, text=True, timeout=60)


def flags_of(path: Path) -> list[dict]:
    """`check --json --fail-on never`: the run's flags (the command must read the run)."""
    done = check(path, "--json", "--fail-on", "never")
    assert done.returncode == 0, f"check could not read the run (exit {done.returncode}): {done.stderr}"
    return json.loads(done.stdout)["flags"]


def found(flags: list[dict], rule: str) -> dict[str, dict]:
    """The flags of one rule, by their (single) layer; a run-wide flag is under ''."""
    return {(f["layers"] or [""])[0]: f for f in flags if f["rule"] == rule}


def summary(flags: list[dict]) -> list[tuple]:
    return sorted((f["rule"], f["severity"], tuple(f["layers"]), f["from"], f["to"]) for f in flags)


def recorder(tmp_path: Path, every: int, overhead_budget: float | None = None) -> SparsityProfilerCallback:
    """Records the run log only; no overhead budget by default, so samples fall on exact multiples of `every`."""
    return SparsityProfilerCallback(server=None, logdir=tmp_path, every=every, overhead_budget=overhead_budget)


def samples(log: Path) -> list[dict]:
    return [r for r in read_log(log) if r["type"] == "sample"]


def layer_at(log: Path, name: str) -> dict[int, dict]:
    """step → that layer's sample."""
    return {s["step"]: next(l for l in s["layers"] if l["name"] == name) for s in samples(log)}


def first_sample_at_or_after(log: Path, step: int) -> int:
    return min(s["step"] for s in samples(log) if s["step"] >= step)


def persisting(steps: list[int], far: list[bool], samples_needed: int = 3) -> tuple[int, int] | None:
    """layer-off-target's step range as docs/flags.md defines it: far for `samples_needed` samples in a row, from
    the last sample that was not far (or the first sample), to the last far one; None when never so long."""
    since, streak, found_range = steps[0], 0, None
    for step, is_far in zip(steps, far):
        if not is_far:
            since, streak = step, 0
            continue
        streak += 1
        if streak >= samples_needed:
            found_range = (found_range or (since, step))[0], step
    return found_range


def digits(n: int = 512):
    from sklearn.datasets import load_digits

    data = load_digits()
    return torch.tensor(data.data[:n] / 16.0, dtype=torch.float32), torch.tensor(data.target[:n], dtype=torch.long)


def sgd_step(model: nn.Module, optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


# ── sparsity-drift (and drop-grow-imbalance) ─────────────────────────


def train_with(tmp_path: Path, model: nn.Module, algorithm, steps: int) -> Path:
    """`algorithm` applied to `model`, then `steps` full-batch SGD steps on 128 digits with the algorithm stepping
    after each, sampled every 5 steps: the run log."""
    model.apply(algorithm)
    x, y = digits(128)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    profiler = recorder(tmp_path, every=5).attach(model, algorithm=algorithm)
    for _ in range(steps):
        sgd_step(model, optimizer, F.cross_entropy(model(x), y))
        algorithm.step()
        profiler.step()
    profiler.close()
    return profiler.log_path


def rigl_model_with_a_pruned_head() -> tuple[nn.Module, sparselab.RigL]:
    """A SparseLab RigL MLP whose dense head, which SparseLab cannot hold, is pruned with torch.nn.utils.prune."""
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=sparselab.SparseLinear(64, 64, sparsity=0.9), act=nn.ReLU(), head=nn.Linear(64, 10)))
    prune.l1_unstructured(model.head, "weight", amount=0.9)  # 576 of 640 weights masked
    rigl = sparselab.RigL(sparsity=0.9, drop_fraction=0.3, update_freq=10, seed=0)
    model.apply(rigl)
    return model, rigl


def test_sparsity_collapses_when_the_mask_stops_being_applied_and_the_optimizer_regrows_masked_weights(tmp_path):
    # prune.remove() "makes the pruning permanent" mid-run: the mask is no longer re-applied after
    # optimizer.step(), so the next steps' gradients, carried on by momentum, move the 576 pruned weights off
    # zero. (A SparseLab layer cannot regrow this way: its Padded-CSR holds no masked weights to update.)
    model, rigl = rigl_model_with_a_pruned_head()
    x, y = digits(128)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    profiler = recorder(tmp_path, every=5).attach(model, algorithm=rigl)
    for step in range(1, 61):
        if step == 33:
            prune.remove(model.head, "weight")
        sgd_step(model, optimizer, F.cross_entropy(model(x), y))
        rigl.step()
        profiler.step()
    profiler.close()

    head = layer_at(profiler.log_path, "head")
    assert head[30]["sparsity"] == pytest.approx(0.9) and head[35]["sparsity"] < 0.1  # it really fell
    assert len({l["sparsity"] for l in layer_at(profiler.log_path, "fc1").values()}) == 1  # SparseLab's holds
    flags = flags_of(profiler.log_path)
    drift = found(flags, "sparsity-drift")
    assert list(drift) == ["head"]  # the SparseLab layer's Padded-CSR nnz is structurally constant under RigL
    assert (drift["head"]["severity"], drift["head"]["from"], drift["head"]["to"]) == ("critical", 30, 60)  # from: the last sample before
    assert drift["head"]["evidence"]["first"] == pytest.approx(0.9) and drift["head"]["evidence"]["now"] < 0.1
    assert drift["head"]["message"].startswith("head sparsity fell from 90.00% to ")
    assert found(flags, "layer-off-target")["head"]["severity"] == "warning"  # far from RigL's 90% as well
    # Only the head is flagged. (Its 95th percentile of |w| also "vanishes" between steps 30 and 35: the 576
    # regrown weights, just off zero, join the histogram of non-zero weights; not asserted here.)
    assert {tuple(f["layers"]) for f in flags} == {("head",)}


def test_a_pruning_step_left_running_in_a_rigl_run_drifts_and_unbalances_the_mask(tmp_path):
    # A magnitude-pruning step (prune 3/4 of the head's remaining weights) fires inside a RigL run: the head's
    # sparsity rises by 7.5 points, 5-20 points being a warning, and its mask loses 48 connections that
    # nothing regrows.
    model, rigl = rigl_model_with_a_pruned_head()
    x, y = digits(128)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    profiler = recorder(tmp_path, every=5).attach(model, algorithm=rigl)
    for step in range(1, 41):
        if step == 23:
            prune.l1_unstructured(model.head, "weight", amount=0.75)  # 48 of the 64 remaining
        sgd_step(model, optimizer, F.cross_entropy(model(x), y))
        rigl.step()
        profiler.step()
    profiler.close()

    assert {s: l["nnz"] for s, l in layer_at(profiler.log_path, "head").items()} == {
        s: 64 if s < 23 else 16 for s in range(0, 41, 5)}
    flags = flags_of(profiler.log_path)
    drift = found(flags, "sparsity-drift")
    assert list(drift) == ["head"]
    assert (drift["head"]["severity"], drift["head"]["from"], drift["head"]["to"]) == ("warning", 20, 40)
    assert drift["head"]["message"] == "head sparsity rose from 90.00% to 97.50% between steps 20 and 40"
    imbalance = found(flags, "drop-grow-imbalance")
    assert list(imbalance) == ["head"]  # RigL's own updates of fc1 stay balanced
    assert (imbalance["head"]["severity"], imbalance["head"]["from"], imbalance["head"]["to"]) == ("warning", 25, 25)
    assert imbalance["head"]["evidence"] == {"drops": 48, "grows": 0}
    assert {tuple(f["layers"]) for f in flags} == {("head",)}


# ── non-finite-weights, non-finite-loss, weights-exploding ───────────


def active_weights(module: nn.Module) -> torch.Tensor:
    """The weights a layer computes with: a SparseLinear's stored values, a pruned layer's unmasked ones."""
    if isinstance(module, sparselab.SparseLinear):
        return module._values
    if hasattr(module, "weight_mask"):
        return module.weight_orig[module.weight_mask.bool()]
    return module.weight


def diverge(tmp_path: Path, pruned_first_layer: bool) -> tuple[Path, dict]:
    """MSE regression at lr 1.0: the weights grow geometrically, overflow to ±Inf and turn NaN within ~25
    steps. Returns the run log and the first step of each non-finite quantity (the loss, each layer's active
    weights), seen from the training loop."""
    torch.manual_seed(0)
    fc1 = nn.Linear(8, 32) if pruned_first_layer else sparselab.SparseLinear(8, 32, sparsity=0.5)
    if pruned_first_layer:
        prune.l1_unstructured(fc1, "weight", amount=0.5)
    model = nn.Sequential(OrderedDict(fc1=fc1, act=nn.Tanh(), fc2=nn.Linear(32, 1)))
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    x = torch.randn(64, 8)
    y = x.sum(1, keepdim=True)
    first: dict[str, int] = {}
    profiler = recorder(tmp_path, every=2).attach(model)
    for step in range(1, 41):
        loss = F.mse_loss(model(x), y)
        sgd_step(model, optimizer, loss)
        if not math.isfinite(loss.item()):
            first.setdefault("loss", step)
        for name in ("fc1", "fc2"):
            if not bool(torch.isfinite(active_weights(getattr(model, name))).all()):
                first.setdefault(name, step)
        profiler.step(loss=loss)
    profiler.close()
    assert set(first) == {"loss", "fc1", "fc2"}, "the run must diverge"
    return profiler.log_path, first


@pytest.fixture(scope="module")
def diverged(tmp_path_factory) -> tuple[Path, dict]:
    return diverge(tmp_path_factory.mktemp("diverged"), pruned_first_layer=False)


def test_divergence_is_flagged_critical_from_its_first_sample(diverged):
    log, first = diverged
    flags = flags_of(log)
    loss = found(flags, "non-finite-loss")[""]
    # the sample of step s carries the loss of the steps since the previous sample (every=2)
    assert (loss["severity"], loss["layers"], loss["from"], loss["to"]) == ("critical", [], first_sample_at_or_after(log, first["loss"]), 40)
    weights = found(flags, "non-finite-weights")
    assert sorted(weights) == ["fc1", "fc2"]
    for name in ("fc1", "fc2"):
        since = min(s for s, l in layer_at(log, name).items() if l["nonfinite"])
        assert since == first_sample_at_or_after(log, first[name])
        assert (weights[name]["severity"], weights[name]["from"], weights[name]["to"]) == ("critical", since, 40)
    # before any NaN, both layers' |w| grew more than 10x within 10 samples
    exploding = found(flags, "weights-exploding")
    assert sorted(exploding) == ["fc1", "fc2"]
    for name, flag in exploding.items():
        assert flag["severity"] == "warning"
        assert flag["from"] < flag["to"] <= first_sample_at_or_after(log, first[name])
        assert flag["evidence"]["now"] >= 10 * flag["evidence"]["before"]
    # and fc1, a SparseLinear at 50% sparsity, stores more than dense (see storage-saves-nothing below)
    assert {(f["rule"], f["severity"], tuple(f["layers"])) for f in flags} == {
        ("non-finite-loss", "critical", ()), ("non-finite-weights", "critical", ("fc1",)), ("non-finite-weights", "critical", ("fc2",)),
        ("weights-exploding", "warning", ("fc1",)), ("weights-exploding", "warning", ("fc2",)),
        ("storage-saves-nothing", "warning", ("fc1",))}


def test_a_diverged_torch_pruned_layer_is_flagged_not_rejected(tmp_path):
    # The same divergence with fc1 pruned by torch.nn.utils.prune. Expected: exit 1 and a critical
    # non-finite-weights flag on fc1, as for the SparseLab layer above.
    log, first = diverge(tmp_path, pruned_first_layer=True)
    fc1 = layer_at(log, "fc1")
    done = check(log, "--json")
    assert done.returncode == 1, (
        f"check rejects the run log instead of flagging it (exit {done.returncode}): {done.stderr.strip()}; the "
        f"profiler counted {max(l['nonfinite'] for l in fc1.values())} non-finite weights in fc1, which has {fc1[0]['nnz']} "
        "active ones: NaN * 0 = NaN, so masked_values() (weight_orig * mask) turns every masked position NaN too")
    weights = found(json.loads(done.stdout)["flags"], "non-finite-weights")
    assert weights["fc1"]["from"] == first_sample_at_or_after(log, first["fc1"])


def test_weights_scaled_twentyfold_are_flagged_exploding_for_that_layer_only(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=nn.Linear(64, 32), act=nn.ReLU(), fc2=nn.Linear(32, 10)))
    x, y = digits(256)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    profiler = recorder(tmp_path, every=2).attach(model)
    for step in range(1, 41):
        sgd_step(model, optimizer, F.cross_entropy(model(x), y))
        if step == 20:
            with torch.no_grad():
                model.fc1.weight.mul_(20)  # a bad re-initialisation or a loss-scale bug
        profiler.step()
    profiler.close()

    flags = flags_of(profiler.log_path)
    exploding = found(flags, "weights-exploding")
    assert list(exploding) == ["fc1"]
    flag = exploding["fc1"]
    # from: the smallest |w| of the 10-sample window that first saw step 20; still raised while a sample from
    # before step 20 is in the window, the last at 20 + 8 samples of 2 steps
    assert flag["severity"] == "warning" and 20 - 9 * 2 <= flag["from"] < 20 and flag["to"] == 36
    assert 15 < flag["evidence"]["now"] / flag["evidence"]["before"] < 25
    assert summary(flags) == [("weights-exploding", "warning", ("fc1",), flag["from"], 36)]


# ── dead-layer ────────────────────────────────────────────────────────


def test_a_layer_pruned_to_nothing_mid_run_is_a_critical_dead_layer(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=nn.Linear(64, 32), act1=nn.ReLU(), fc2=nn.Linear(32, 32), act2=nn.ReLU(), fc3=nn.Linear(32, 10)))
    x, y = digits(256)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    profiler = recorder(tmp_path, every=4).attach(model)
    for step in range(1, 31):
        if step == 12:
            prune.l1_unstructured(model.fc2, "weight", amount=1.0)
        sgd_step(model, optimizer, F.cross_entropy(model(x), y))
        profiler.step()
    profiler.close()

    assert [r["info"]["mask_source"] for r in read_log(profiler.log_path) if r["type"] == "layer"] == ["torch_prune"]
    assert {s: l["nnz"] for s, l in layer_at(profiler.log_path, "fc2").items() if s >= 8} == {8: 1024, 12: 0, 16: 0, 20: 0, 24: 0, 28: 0, 30: 0}
    flags = flags_of(profiler.log_path)
    assert summary(flags) == [("dead-layer", "critical", ("fc2",), 12, 30)]
    assert found(flags, "dead-layer")["fc2"]["message"] == "fc2 has no active weights since step 12: it passes nothing forward"
    assert check(profiler.log_path).returncode == 1


def test_a_layer_whose_weights_decay_to_nothing_is_seen_vanishing(tmp_path):
    # fc1's ReLUs are all dead (a large negative bias, as after one bad update): it gets zero gradients and
    # weight decay halves its weights every step, from ~0.35 to below 1e-8 in 30 steps, never exactly zero.
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=nn.Linear(8, 16), act=nn.ReLU(), fc2=nn.Linear(16, 4)))
    with torch.no_grad():
        model.fc1.bias.fill_(-100.0)
    optimizer = torch.optim.SGD([{"params": model.fc1.parameters(), "weight_decay": 1.0},
                                 {"params": model.fc2.parameters()}], lr=0.5)
    x, y = torch.randn(32, 8), torch.randint(0, 4, (32,))
    profiler = recorder(tmp_path, every=2).attach(model)
    for step in range(1, 31):
        sgd_step(model, optimizer, F.cross_entropy(model(x), y))
        profiler.step()
    profiler.close()

    fc1 = model.fc1.weight.detach()
    assert bool((fc1 != 0).all()) and float(fc1.abs().max()) < 1e-6  # every weight active, every one below 1e-6
    flags = flags_of(profiler.log_path)
    vanishing = found(flags, "weights-vanishing")["fc1"]
    assert vanishing["severity"] == "warning" and vanishing["evidence"]["now"] * 10 <= vanishing["evidence"]["before"]
    assert (vanishing["from"], vanishing["to"]) == shrinking_tenfold(layer_at(profiler.log_path, "fc1"))
    # every weight still counts as active, but the sample's largest |w| says they are all within ±1e-6: dead,
    # from the first sample where it is so
    absmax = {step: layer["absmax"] for step, layer in layer_at(profiler.log_path, "fc1").items()}
    first_dead = min(step for step, value in absmax.items() if value <= 1e-6)
    assert all(value > 1e-6 for step, value in absmax.items() if step < first_dead)
    dead = found(flags, "dead-layer")["fc1"]
    assert (dead["severity"], dead["from"], dead["to"]) == ("critical", first_dead, 30)
    assert dead["message"] == f"All 128 active weights of fc1 are within ±0.000001 since step {first_dead}: it passes almost nothing forward"
    assert "fc2" not in found(flags, "dead-layer")


def shrinking_tenfold(layer: dict[int, dict]) -> tuple[int, int]:
    """weights-vanishing's step range, as docs/flags.md defines it: the size of |w| (the larger of |5th| and |95th
    percentile| of the sample's histogram, spread evenly within bins) a tenth of the largest of the last 10
    samples; from the step of that largest the first time, to the last sample where it is so."""
    def quantile(hist: dict, q: float) -> float:
        counts = hist["counts"]
        width, target, below = (hist["hi"] - hist["lo"]) / len(counts), q * sum(counts), 0
        for i, count in enumerate(counts):
            if count > 0 and below + count >= target:
                return hist["lo"] + width * (i + (target - below) / count)
            below += count
        return hist["hi"]

    window, seen, nnz = [], [], None
    for step, sample in sorted(layer.items()):
        assert nnz in (None, sample["nnz"])  # nnz never changes here, so the window never starts over
        nnz = sample["nnz"]
        size = max(abs(quantile(sample["hist"], 0.05)), abs(quantile(sample["hist"], 0.95)))
        window = [*window, (step, size)][-10:]
        largest = max(window, key=lambda point: point[1])
        growing = size / min(value for _, value in window) >= 10  # that is weights-exploding
        if largest[1] / size >= 10 and not growing:
            seen.append((largest[0], step))
    return min(start for start, _ in seen), seen[-1][1]


# ── storage-saves-nothing ────────────────────────────────────────────


def test_padded_csr_at_low_sparsity_costs_more_than_dense(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=sparselab.SparseLinear(64, 64, sparsity=0.1), act=nn.ReLU(),
                                      fc2=sparselab.SparseLinear(64, 10, sparsity=0.9)))
    x, y = digits(128)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    profiler = recorder(tmp_path, every=5).attach(model)  # no algorithm: no sparsity target to be off
    for _ in range(10):
        sgd_step(model, optimizer, F.cross_entropy(model(x), y))
        profiler.step()
    profiler.close()

    csr = model.fc1._csr  # values and col_indices (4 + 4 bytes) per slot, row_start/row_nnz/row_capacity per row
    padded = csr.total_capacity * 8 + 3 * 64 * 4
    fc1 = layer_at(profiler.log_path, "fc1")[0]
    assert (fc1["bytes"], fc1["dense_bytes"]) == (padded, 64 * 64 * 4) and padded > 64 * 64 * 4
    fc2 = layer_at(profiler.log_path, "fc2")[0]
    assert fc2["bytes"] < fc2["dense_bytes"]
    flags = flags_of(profiler.log_path)
    assert summary(flags) == [("storage-saves-nothing", "warning", ("fc1",), 0, 10)]
    flag = found(flags, "storage-saves-nothing")["fc1"]
    assert flag["evidence"] == {"bytes": padded, "dense_bytes": 16384, "sparsity": fc1["sparsity"]}
    assert flag["message"].startswith(f"fc1 stores {padded / 1024:.1f} KiB in padded_csr at ")


# ── padding-waste ────────────────────────────────────────────────────


def test_pruning_a_padded_csr_in_place_leaves_its_slots_empty(tmp_path):
    # A gradual magnitude pruning written against SparseLab's own API: at step 10 each row of fc1 keeps its
    # quarter of largest weights (PaddedCSR.rewrite_row). nnz falls to a quarter, but the rows keep the capacity
    # they were built with, so most slots are padding and the memory saving is not what the sparsity suggests.
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=sparselab.SparseLinear(64, 64, sparsity=0.5), act=nn.ReLU(), fc2=nn.Linear(64, 10)))
    x, y = digits(256)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    profiler = recorder(tmp_path, every=5).attach(model)
    for step in range(1, 21):
        sgd_step(model, optimizer, F.cross_entropy(model(x), y))
        if step == 10:
            csr = model.fc1._csr
            values, cols = np.asarray(csr.values), np.asarray(csr.col_indices)
            for row, (start, live) in enumerate(zip(np.asarray(csr.row_start), np.asarray(csr.row_nnz))):
                kept = np.sort(np.argsort(-np.abs(values[start:start + live]))[: max(1, live // 4)])
                csr.rewrite_row(row, cols[start:start + live][kept].astype(np.int32), values[start:start + live][kept].astype(np.float32))
        profiler.step()
    profiler.close()

    csr = model.fc1._csr
    capacity, nnz = int(csr.total_capacity), int(csr.nnz)
    assert nnz < capacity / 2
    fc1 = layer_at(profiler.log_path, "fc1")
    assert (fc1[20]["capacity"], fc1[20]["nnz"]) == (capacity, nnz)
    assert 1 - fc1[5]["nnz"] / fc1[5]["capacity"] < 0.5  # as built: ceil(1.2 × row nnz) slots per row
    flags = flags_of(profiler.log_path)
    padding = found(flags, "padding-waste")
    assert list(padding) == ["fc1"]
    assert (padding["fc1"]["severity"], padding["fc1"]["from"], padding["fc1"]["to"]) == ("warning", 10, 20)
    assert padding["fc1"]["evidence"] == {"capacity": capacity, "nnz": nnz, "padding": pytest.approx(1 - nnz / capacity)}


# ── wasted-update ────────────────────────────────────────────────────


@pytest.mark.parametrize("algorithm_class", [sparselab.SET, sparselab.RigL], ids=["SET", "RigL"])
def test_an_update_of_a_dense_sparselinear_drops_nothing(tmp_path, algorithm_class):
    # fc2 is a SparseLinear at sparsity 0 (kept dense, but still attached by model.apply): its only empty
    # positions after a drop are the ones just dropped, so every update regrows exactly those (and resets
    # their 96 values to zero, as grown weights start).
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=sparselab.SparseLinear(64, 32, sparsity=0.8), act=nn.ReLU(),
                                      fc2=sparselab.SparseLinear(32, 10, sparsity=0.0)))
    log = train_with(tmp_path, model, algorithm_class(sparsity=0.8, drop_fraction=0.3, update_freq=5, seed=0), steps=20)

    events = [(r["step"], r["layer"], r["op"], r["count"], r["requested"]) for r in read_log(log) if r["type"] == "event"]
    assert [e for e in events if e[1] == "fc2"] == [
        (s, "fc2", op, 0, 96 if op == "drop" else None) for s in (5, 10, 15, 20) for op in ("drop", "grow")]
    assert all(e[3] > 0 for e in events if e[1] == "fc1")
    flags = flags_of(log)
    wasted = found(flags, "wasted-update")
    assert list(wasted) == ["fc2"]
    assert (wasted["fc2"]["severity"], wasted["fc2"]["from"], wasted["fc2"]["to"]) == ("warning", 5, 20)
    assert wasted["fc2"]["message"] == f"{algorithm_class.__name__} asked to drop 96 connections of fc2 at step 20 and dropped none"
    # the same layer is also flagged for what it is: dense storage in Padded-CSR, far from the 80% target
    assert summary(flags) == [("layer-off-target", "warning", ("fc2",), 0, 20), ("storage-saves-nothing", "warning", ("fc2",), 0, 20),
                              ("wasted-update", "warning", ("fc2",), 5, 20)]


# ── layer-off-target ────────────────────────────────────────────────


def test_a_layer_built_at_another_sparsity_than_rigls_target_is_off_target(tmp_path):
    # fc2 is built at 70% while RigL aims for 90%: RigL regrows as many connections as it drops, so it never
    # moves fc2's sparsity, which stays 20 points off the target for the whole run.
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=sparselab.SparseLinear(64, 64, sparsity=0.9), act=nn.ReLU(),
                                      fc2=sparselab.SparseLinear(64, 64, sparsity=0.7), act2=nn.ReLU(), head=nn.Linear(64, 10)))
    log = train_with(tmp_path, model, sparselab.RigL(sparsity=0.9, drop_fraction=0.3, update_freq=10, seed=0), steps=30)

    target = read_log(log)[0]["algorithm"]["params"]["sparsity"]
    ranges = {}
    for name in ("fc1", "fc2"):
        layer = layer_at(log, name)
        ranges[name] = persisting(sorted(layer), [abs(layer[s]["sparsity"] - target) > 0.1 for s in sorted(layer)])
    assert ranges == {"fc1": None, "fc2": (0, 30)}
    flags = flags_of(log)
    assert summary(flags) == [("layer-off-target", "warning", ("fc2",), *ranges["fc2"])]
    flag = found(flags, "layer-off-target")["fc2"]
    assert flag["evidence"] == {"sparsity": layer_at(log, "fc2")[30]["sparsity"], "target": 0.9}
    assert flag["message"] == f"fc2 is at {100 * flag['evidence']['sparsity']:.2f}% sparsity, far from the 90.00% target, since step 0"


def test_a_torch_pruned_layer_far_from_the_other_pruned_layers_is_flagged_info(tmp_path):
    # Per-layer torch pruning, no algorithm (so no target): fc1, fc2 and the head pruned 90%, fc3 only 5% (an
    # amount meant for another layer). Off target is then measured against the other pruned layers together.
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=nn.Linear(64, 64), act1=nn.ReLU(), fc2=nn.Linear(64, 64), act2=nn.ReLU(),
                                      fc3=nn.Linear(64, 16), act3=nn.ReLU(), head=nn.Linear(16, 10)))
    for name, amount in (("fc1", 0.9), ("fc2", 0.9), ("fc3", 0.05), ("head", 0.9)):
        prune.l1_unstructured(getattr(model, name), "weight", amount=amount)
    x, y = digits(128)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    profiler = recorder(tmp_path, every=5).attach(model)
    for _ in range(20):
        sgd_step(model, optimizer, F.cross_entropy(model(x), y))
        profiler.step()
    profiler.close()

    # each layer against the others' zeros over their weights, from the samples
    ranges = {}
    for name in ("fc1", "fc2", "fc3", "head"):
        far = []
        for sample in samples(profiler.log_path):
            others = [l for l in sample["layers"] if l["name"] != name]
            share = 1 - sum(l["nnz"] for l in others) / sum(l["numel"] for l in others)
            far.append(abs(next(l for l in sample["layers"] if l["name"] == name)["sparsity"] - share) > 0.5)
        ranges[name] = persisting([s["step"] for s in samples(profiler.log_path)], far)
    assert ranges == {"fc1": None, "fc2": None, "fc3": (0, 20), "head": None}
    flags = flags_of(profiler.log_path)
    assert summary(flags) == [("layer-off-target", "info", ("fc3",), 0, 20)]
    flag = found(flags, "layer-off-target")["fc3"]
    assert flag["evidence"]["sparsity"] == pytest.approx(0.05, abs=1e-3) and flag["evidence"]["others"] == pytest.approx(0.9, abs=1e-3)
    assert check(profiler.log_path, "--fail-on", "warning").returncode == 0


# ── churn-not-settling ──────────────────────────────────────────────


def churn_not_settling(log: Path, updates: int = 5, settled: float = 0.8) -> dict[str, tuple[int, int]]:
    """churn-not-settling's step ranges as docs/flags.md defines them, from the log's events and samples: an
    update's churn is max(drops, grows) over the layer's nnz at the sample before it; the flag stands where the
    mean of the last `updates` is at least `settled` of the first's, from the first such window's first update
    to the last such window's last one."""
    nnz: dict[str, int] = {}
    pending: dict[str, dict[int, list[int]]] = defaultdict(dict)
    churn: dict[str, list[tuple[int, float]]] = defaultdict(list)
    ranges: dict[str, tuple[int, int]] = {}
    for r in read_log(log):
        if r["type"] == "event" and r["layer"] in nnz:
            drops_grows = pending[r["layer"]].setdefault(r["step"], [0, 0])
            drops_grows[r["op"] == "grow"] += r["count"]
        elif r["type"] == "sample":
            for layer in r["layers"]:
                nnz.setdefault(layer["name"], layer["nnz"])
                for step, (drops, grows) in pending.pop(layer["name"], {}).items():
                    if nnz[layer["name"]] > 0:
                        churn[layer["name"]].append((step, max(drops, grows) / nnz[layer["name"]]))
                nnz[layer["name"]] = layer["nnz"]
            for name, values in churn.items():
                early = sum(v for _, v in values[:updates]) / updates
                late = values[-updates:]
                if len(values) >= 2 * updates and early > 0 and sum(v for _, v in late) / updates >= settled * early:
                    ranges[name] = (ranges.get(name, late[0])[0], late[-1][0])
    return ranges


def test_set_whose_drop_fraction_never_decays_keeps_churning_to_the_end(tmp_path):
    # SparseLab's SET rewires a fixed 30% of each layer's connections at every update (no cosine decay, no
    # T_end), every 5 steps: the last updates churn as much as the first, the topology never settles.
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=sparselab.SparseLinear(64, 64, sparsity=0.9), act=nn.ReLU(),
                                      fc2=sparselab.SparseLinear(64, 32, sparsity=0.9), act2=nn.ReLU(), head=nn.Linear(32, 10)))
    log = train_with(tmp_path, model, sparselab.SET(sparsity=0.9, drop_fraction=0.3, update_freq=5, seed=0), steps=60)

    drops = defaultdict(list)  # layer → connections each update dropped
    for r in read_log(log):
        if r["type"] == "event" and r["op"] == "drop":
            drops[r["layer"]].append((r["step"], r["count"]))
    assert {name: [s for s, _ in d] for name, d in drops.items()} == {"fc1": list(range(5, 61, 5)), "fc2": list(range(5, 61, 5))}
    for d in drops.values():  # about the same count at every update (SET drops 30% of each row's, rounded down)
        assert max(count for _, count in d) < 1.15 * min(count for _, count in d)
    expected = churn_not_settling(log)
    assert expected == {"fc1": (30, 60), "fc2": (30, 60)}  # from the 10th update on, the last five: 30-50, …, 40-60
    flags = flags_of(log)
    churn = found(flags, "churn-not-settling")
    assert {name: (f["severity"], f["from"], f["to"]) for name, f in churn.items()} == {name: ("info", *r) for name, r in expected.items()}
    for flag in churn.values():
        assert 0.25 < flag["evidence"]["early"] < 0.3 and flag["evidence"]["late"] == pytest.approx(flag["evidence"]["early"], rel=0.05)
    assert {f["rule"] for f in flags} == {"churn-not-settling"}


# ── interval-widened ─────────────────────────────────────────────────


def test_a_tiny_overhead_budget_widens_the_interval_and_is_flagged_info(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    x, y = digits(128)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    profiler = recorder(tmp_path, every=1, overhead_budget=1e-6).attach(model)
    for _ in range(10):
        sgd_step(model, optimizer, F.cross_entropy(model(x), y))
        profiler.step()
    profiler.close()

    changes = [r for r in read_log(profiler.log_path) if r["type"] == "sampler"]
    assert changes and changes[0]["every"] >= 10
    flags = flags_of(profiler.log_path)
    assert summary(flags) == [("interval-widened", "info", (), changes[0]["step"], changes[-1]["step"])]
    assert found(flags, "interval-widened")[""]["evidence"]["requested"] == 1
    assert (check(profiler.log_path).returncode, check(profiler.log_path, "--fail-on", "info").returncode) == (0, 1)


# ── weights-split ───────────────────────────────────────────────────


def test_units_pushed_by_a_second_update_rule_split_the_layers_weights_in_two(tmp_path):
    # From step 21 eight of fc1's 64 units also take a sign-based step of 0.02 on top of SGD's (as when part of
    # a layer is registered with a second optimizer): their 512 weights march away from the bulk and gather
    # around |w| ≈ 1.5, a second mode that SGD's own small steps never make.
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=nn.Linear(64, 64), act=nn.ReLU(), fc2=nn.Linear(64, 10)))
    x, y = digits(256)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    profiler = recorder(tmp_path, every=5).attach(model)
    for step in range(1, 101):
        sgd_step(model, optimizer, F.cross_entropy(model(x), y))
        if step > 20:
            with torch.no_grad():
                model.fc1.weight[:8] -= 0.02 * torch.sign(model.fc1.weight.grad[:8])
        profiler.step()
    profiler.close()

    w = model.fc1.weight.detach().abs()
    assert float(w[8:].max()) < 0.5 < float(w[:8].median())  # the pushed units sit apart from the rest
    flags = flags_of(profiler.log_path)
    split = found(flags, "weights-split")
    assert list(split) == ["fc1"]
    assert split["fc1"]["severity"] == "warning" and 25 <= split["fc1"]["from"] <= 50 and split["fc1"]["to"] == 100
    # the cluster holds weights of the pushed units only: at most their 512 of fc1's 4,096
    assert 0.01 <= split["fc1"]["evidence"]["share"] <= 512 / 4096
    assert split["fc1"]["message"].startswith("fc1's active weights are bimodal: ")


# ── exploration-stalled ──────────────────────────────────────────────


def test_rigl_that_keeps_regrowing_tried_positions_is_seen_to_stop_exploring(tmp_path):
    # rigl-torch at 10% density, an update every 10 steps: from about step 200 on its updates still grow tens of
    # connections of fc2 each, but only ones fc2 had already tried, so its in-time over-parameterization rate
    # stays near 22% (Liu et al. tie a low rate to worse accuracy at equal sparsity).
    from rigl_torch.RigL import RigLScheduler

    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=nn.Linear(64, 64), act=nn.ReLU(), fc2=nn.Linear(64, 64), act2=nn.ReLU(), head=nn.Linear(64, 10)))
    x, y = digits(256)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = RigLScheduler(model, optimizer, dense_allocation=0.1, T_end=400, delta=10, alpha=0.3, ignore_linear_layers=False)
    profiler = recorder(tmp_path, every=10).attach(model)
    for _ in range(400):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        if scheduler():
            optimizer.step()
        profiler.step()
    profiler.close()

    records = read_log(profiler.log_path)
    fc2 = layer_at(profiler.log_path, "fc2")
    grown = defaultdict(int)  # update step → connections fc2 grew
    for r in records:
        if r["type"] == "event" and r["layer"] == "fc2" and r["op"] == "grow" and r["count"]:
            grown[r["step"]] += r["count"]
    flag = found(flags_of(profiler.log_path), "exploration-stalled")["fc2"]
    assert flag["severity"] == "info" and 150 <= flag["from"] <= 250 and flag["to"] == 400
    # its evidence, from the log: the last 5 updates that grew, and the samples before and after them
    window = sorted(grown)[-5:]
    start = max(step for step in fc2 if step < window[0])
    fresh = fc2[400]["active_ever"] - fc2[start]["active_ever"]
    assert flag["evidence"] == {"grown": sum(grown[s] for s in window), "fresh": fresh, "itop": fc2[400]["active_ever"] / 4096}
    assert fresh < 0.02 * sum(grown[s] for s in window) and fc2[400]["active_ever"] / 4096 < 0.3
    assert "fc2 stopped exploring: its last 5 updates grew " in flag["message"]


# ── metric-limit ────────────────────────────────────────────────────


def test_a_plugin_metric_past_its_limit_is_flagged_per_layer_from_its_first_such_sample(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=nn.Linear(64, 32), act=nn.ReLU(), fc2=nn.Linear(32, 10)))
    x, y = digits(256)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    profiler = recorder(tmp_path, every=2)

    @profiler.metric("max_abs", warn_above=1.0)
    def max_abs(name, weight, mask):
        return weight.abs().max()

    profiler.attach(model)
    largest = {}  # step → fc1's and fc2's largest |w|, computed here
    for step in range(1, 31):
        sgd_step(model, optimizer, F.cross_entropy(model(x), y))
        if step == 15:
            with torch.no_grad():
                model.fc1.weight.mul_(20)  # a bad re-initialisation
        profiler.step()
        largest[step] = {n: float(getattr(model, n).weight.detach().abs().max()) for n in ("fc1", "fc2")}
    profiler.close()

    declared = [r for r in read_log(profiler.log_path) if r["type"] == "metric"]
    assert [(r["name"], r["warn_above"], r["warn_below"], r["seq"]) for r in declared] == [("max_abs", 1.0, None, 1)]
    beyond = sorted(step for step, values in largest.items() if step % 2 == 0 and values["fc1"] > 1.0)
    assert beyond[0] == 16 and all(values["fc2"] < 1.0 for values in largest.values())
    flags = flags_of(profiler.log_path)
    assert [f for f in summary(flags) if f[0] == "metric-limit"] == [("metric-limit", "warning", ("fc1",), 16, 30)]
    flag = found(flags, "metric-limit")["fc1"]
    assert flag["metric"] == "max_abs" and flag["evidence"] == {"value": pytest.approx(largest[30]["fc1"]), "limit": 1.0}
    assert flag["message"].startswith("max_abs of fc1 is ") and flag["message"].endswith(", above its warn_above of 1 since step 16")


# ── thresholds per run ───────────────────────────────────────────────


def test_thresholds_set_from_python_or_the_command_line_change_what_is_flagged(tmp_path):
    def collapsing_run(logdir: Path, **options) -> Path:
        model, rigl = rigl_model_with_a_pruned_head()
        x, y = digits(128)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
        profiler = SparsityProfilerCallback(server=None, logdir=logdir, every=5, overhead_budget=None, **options)
        profiler.attach(model, algorithm=rigl)
        for step in range(1, 61):
            if step == 33:
                prune.remove(model.head, "weight")
            sgd_step(model, optimizer, F.cross_entropy(model(x), y))
            rigl.step()
            profiler.step()
        profiler.close()
        return profiler.log_path

    default = collapsing_run(tmp_path / "default")
    own = collapsing_run(tmp_path / "own", flag_thresholds={"collapse": 0.95, "offTarget": 0.95})
    assert read_log(own)[0]["flag_thresholds"] == {"collapse": 0.95, "offTarget": 0.95}
    assert "flag_thresholds" not in read_log(default)[0]
    severity = lambda flags: {f["rule"]: f["severity"] for f in flags if f["layers"] == ["head"]}  # noqa: E731
    assert severity(flags_of(default)) == {"sparsity-drift": "critical", "layer-off-target": "warning"}
    # the run's own thresholds: the same fall (90% → under 10%) is a drift, not a collapse, and no longer off target
    assert severity(flags_of(own)) == {"sparsity-drift": "warning"}
    assert check(own).returncode == 0 and check(default).returncode == 1
    # the command line's apply to a run that sets none, and a run's own win over them
    lenient = check(default, "--json", "--fail-on", "never", "--flag-threshold", "collapse=0.95")
    assert severity(json.loads(lenient.stdout)["flags"])["sparsity-drift"] == "warning"
    strict = check(own, "--json", "--fail-on", "never", "--flag-threshold", "collapse=0.5")
    assert severity(json.loads(strict.stdout)["flags"])["sparsity-drift"] == "warning"
    bad = check(default, "--flag-threshold", "colapse=0.5")
    assert bad.returncode == 2 and 'flag threshold "colapse=0.5": expected name=value with a name of drift' in bad.stderr
    with pytest.raises(ValueError, match=r"flag_thresholds: unknown threshold 'colapse'; known: drift, collapse"):
        SparsityProfilerCallback(server=None, flag_thresholds={"colapse": 0.5})


# ── healthy reference runs ───────────────────────────────────────────


def assert_healthy(log: Path) -> None:
    done = check(log, "--json", "--fail-on", "warning")
    flags = json.loads(done.stdout)["flags"]
    assert done.returncode == 0, f"a healthy run raised {summary([f for f in flags if f['severity'] != 'info'])}"
    assert all(f["severity"] == "info" for f in flags)


def test_the_demo_is_healthy(tmp_path, capsys):
    demo.main(["--server", "none", "--logdir", str(tmp_path), "--steps", "300"])
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["steps"] == 300 and result["test_accuracy"] > 0.8
    assert_healthy(Path(result["run_log"]))


@pytest.mark.parametrize("algorithm_class", [sparselab.SET, sparselab.RigL], ids=["SET", "RigL"])
def test_set_and_rigl_on_a_small_mlp_are_healthy(tmp_path, algorithm_class):
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=sparselab.SparseLinear(64, 128, sparsity=0.9), act1=nn.ReLU(),
                                      fc2=sparselab.SparseLinear(128, 64, sparsity=0.9), act2=nn.ReLU(), head=nn.Linear(64, 10)))
    algorithm = algorithm_class(sparsity=0.9, drop_fraction=0.3, update_freq=20, seed=0)
    model.apply(algorithm)
    x, y = digits(1024)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    profiler = recorder(tmp_path, every=10).attach(model, algorithm=algorithm)
    for step in range(1, 201):
        batch = torch.randint(0, len(x), (64,), generator=generator)
        loss = F.cross_entropy(model(x[batch]), y[batch])
        sgd_step(model, optimizer, loss)
        algorithm.step()
        profiler.step(loss=loss)
    profiler.close()
    assert sum(r["count"] for r in read_log(profiler.log_path) if r["type"] == "event" and r["op"] == "drop") > 0
    assert loss.item() < 1.0
    assert_healthy(profiler.log_path)


def test_a_torch_pruned_cnn_is_healthy(tmp_path):
    # a small CNN: global magnitude pruning to 70%, fine-tuned, pruned again to 85% halfway (a gradual-pruning
    # schedule), fine-tuned on
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(conv1=nn.Conv2d(1, 8, 3, padding=1), act1=nn.ReLU(), conv2=nn.Conv2d(8, 16, 3, padding=1),
                                      act2=nn.ReLU(), pool=nn.AdaptiveAvgPool2d(2), flat=nn.Flatten(), fc=nn.Linear(64, 10)))
    weights = [(model.conv1, "weight"), (model.conv2, "weight"), (model.fc, "weight")]
    prune.global_unstructured(weights, pruning_method=prune.L1Unstructured, amount=0.7)
    x, y = digits(1024)
    x = x.view(-1, 1, 8, 8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    generator = torch.Generator().manual_seed(0)
    profiler = recorder(tmp_path, every=10).attach(model)
    for step in range(1, 121):
        if step == 60:
            prune.global_unstructured(weights, pruning_method=prune.L1Unstructured, amount=0.5)
        batch = torch.randint(0, len(x), (64,), generator=generator)
        loss = F.cross_entropy(model(x[batch]), y[batch])
        sgd_step(model, optimizer, loss)
        profiler.step(loss=loss)
    profiler.close()
    assert {l["mask_source"] for l in read_log(profiler.log_path)[0]["layers"]} == {"torch_prune"}
    assert_healthy(profiler.log_path)


def test_a_torch_pruned_resnet18_is_healthy(tmp_path):
    # torchvision's ResNet-18, every conv and the fc pruned globally to 80%, fine-tuned on the digits (8x8
    # upsampled to 32x32, three channels): 12 steps of batch 8, a few seconds on one CPU thread
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    weights = [(m, "weight") for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    prune.global_unstructured(weights, pruning_method=prune.L1Unstructured, amount=0.8)
    x, y = digits(96)
    x = F.interpolate(x.view(-1, 1, 8, 8), size=32).expand(-1, 3, -1, -1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    profiler = recorder(tmp_path, every=4).attach(model)
    for batch in torch.arange(len(x)).split(8):
        sgd_step(model, optimizer, F.cross_entropy(model(x[batch]), y[batch]))
        profiler.step()
    profiler.close()
    run = read_log(profiler.log_path)[0]
    assert len(run["layers"]) == 21 and {l["mask_source"] for l in run["layers"]} == {"torch_prune"}
    assert_healthy(profiler.log_path)


# ── exit codes ───────────────────────────────────────────────────────


def test_exit_codes_follow_fail_on(diverged, tmp_path):
    log, _ = diverged
    assert [check(log, "--fail-on", level).returncode for level in ("info", "warning", "critical", "never")] == [1, 1, 1, 0]
    assert check(log).returncode == 1  # default: critical
    assert check(log.parent).returncode == 1  # the run directory works as well as its records.ndjson
    missing = check(tmp_path / "no-such-run", "--json")
    assert (missing.returncode, missing.stdout) == (2, "")
    assert "no-such-run" in missing.stderr
    assert check(log, "--fail-on", "sometimes").returncode == 2
