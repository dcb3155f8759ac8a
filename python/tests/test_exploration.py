"""In-time over-parameterization (active_ever), mask distance (mask_changed), regrowth (regrown), absmax and
capacity, from real training: SparseLab SET and RigL, rigl-torch, and torch.nn.utils.prune masks the test moves
itself. Every expected value is computed here from the layers' own storage (SparseLab's CSR arrays, rigl-torch's
backward_masks, prune's weight_mask), as Python sets of flat positions, never through the profiler's sources."""

from __future__ import annotations

import json
import math
import subprocess
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
import sparselab
import torch
import torch.nn.functional as F
from rigl_torch.RigL import RigLScheduler
from torch import nn
from torch.nn.utils import prune

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback
from sparselab_profiler.server_launcher import CliNotFound, find_node
from wire_schema import validate_record

EXPLORATION = ("active_ever", "mask_changed", "capacity")


def profiler_for(tmp_path, every: int, **options) -> SparsityProfilerCallback:
    return SparsityProfilerCallback(every=every, logdir=tmp_path, server=None, overhead_budget=None, **options)


def csr_positions(layer) -> set[int]:
    """A SparseLinear's live connections, row * ncols + col, read from its CSR: a row's first row_nnz slots."""
    csr = layer._csr
    starts, counts, cols = np.asarray(csr.row_start), np.asarray(csr.row_nnz), np.asarray(csr.col_indices)
    return {row * csr.ncols + int(c) for row in range(csr.nrows) for c in cols[starts[row]:starts[row] + counts[row]]}


def csr_absmax(layer) -> float:
    """Largest |w| over a SparseLinear's live finite values, in float32 as stored (the profiler reduces the same
    float32 values, and a max is exact in any order, so the two are equal, not merely close)."""
    csr = layer._csr
    starts, counts, values = np.asarray(csr.row_start), np.asarray(csr.row_nnz), np.asarray(csr.values)
    live = np.concatenate([values[s:s + n] for s, n in zip(starts, counts)])
    live = live[np.isfinite(live)]
    return float(np.abs(live).max()) if live.size else 0.0


def mask_positions(mask: torch.Tensor) -> set[int]:
    return set(torch.nonzero(mask.reshape(-1).bool()).reshape(-1).tolist())


def dense_absmax(weight: torch.Tensor) -> float:
    w = weight.detach().reshape(-1)
    w = w[torch.isfinite(w)]
    return float(w.abs().max()) if w.numel() else 0.0


class Expected:
    """One layer's history as the test sees it: every position active at a sample or update so far, the
    positions at the previous sample, and the previous drop."""

    def __init__(self) -> None:
        self.union: set[int] = set()
        self.previous: Optional[set[int]] = None
        self.last_drop: Optional[set[int]] = None

    def update(self, before: set[int], after: set[int]) -> tuple[int, int, Optional[int]]:
        """A topology update (hooked) or a sample-to-sample diff (inferred): (dropped, grown, regrown)."""
        dropped, grown = before - after, after - before
        regrown = len(grown & self.last_drop) if self.last_drop is not None else None
        self.last_drop = dropped
        self.union |= after
        return len(dropped), len(grown), regrown

    def sample(self, now: set[int]) -> dict:
        self.union |= now
        changed = len(self.previous ^ now) if self.previous is not None else None
        self.previous = now
        return {"active_ever": len(self.union), "mask_changed": changed}


def layer_fields(records: list[dict], keys=("nnz", "active_ever", "mask_changed", "absmax", "capacity")) -> dict:
    """{step: {layer: {key: value or None}}} of every sample record."""
    return {r["step"]: {l["name"]: {k: l.get(k) for k in keys} for l in r["layers"]} for r in records if r["type"] == "sample"}


def grow_events(records: list[dict], exact: bool) -> list[tuple]:
    return [(r["step"], r["layer"], r["count"], r.get("regrown", "absent")) for r in records
            if r["type"] == "event" and r["op"] == "grow" and r["exact"] is exact]


def check_wire(records: list[dict]) -> None:
    for record in records:
        validate_record(record)
    assert all("regrown" not in r for r in records if r["type"] == "event" and r["op"] == "drop")


# ── SparseLab SET and RigL: hooked updates ───────────────────────────


def sparselab_model(algorithm_class, update_freq: int):
    torch.manual_seed(0)
    layers = OrderedDict(fc1=sparselab.SparseLinear(32, 48, sparsity=0.8), act1=nn.ReLU(),
                         fc2=sparselab.SparseLinear(48, 24, sparsity=0.7), act2=nn.ReLU(), head=nn.Linear(24, 10))
    model = nn.Sequential(layers)
    algorithm = algorithm_class(sparsity=0.8, drop_fraction=0.3, update_freq=update_freq, seed=0)
    model.fc1.apply(algorithm)
    model.fc2.apply(algorithm)
    return model, algorithm


def train_sparselab(tmp_path, algorithm_class, every: int, update_freq: int, steps: int, **options):
    """Trains with the profiler and returns (records, expected sample fields, expected grow events, how many
    positions were active only between two samples)."""
    model, algorithm = sparselab_model(algorithm_class, update_freq)
    sparse = {"fc1": model.fc1, "fc2": model.fc2}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    torch.manual_seed(1)
    x, y = torch.randn(64, 32), torch.randint(0, 10, (64,))
    history = {name: Expected() for name in sparse}
    seen_at_samples = {name: set() for name in sparse}
    samples, events = {}, []

    def expect_sample(step: int) -> None:
        samples[step] = {"head": {"nnz": int(torch.count_nonzero(model.head.weight)), "active_ever": None,
                                  "mask_changed": None, "absmax": dense_absmax(model.head.weight), "capacity": None}}
        for name, layer in sparse.items():
            now = csr_positions(layer)
            seen_at_samples[name] |= now
            # nnz == the mask's set entries, which mask distance = mask_changed / (previous nnz + nnz) relies on
            samples[step][name] = {"nnz": len(now), **history[name].sample(now), "absmax": csr_absmax(layer),
                                   "capacity": int(layer._csr.total_capacity)}

    profiler = profiler_for(tmp_path, every, **options).attach(model, algorithm=algorithm)
    expect_sample(0)
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        before = {name: csr_positions(layer) for name, layer in sparse.items()}
        algorithm.step()
        if step % update_freq == 0:
            for name, layer in sparse.items():
                _, grown, regrown = history[name].update(before[name], csr_positions(layer))
                events.append((step, name, grown, "absent" if regrown is None else regrown))
        profiler.step()
        if step % every == 0:
            expect_sample(step)
    if steps % every:
        expect_sample(steps)  # close() samples the last step
    profiler.close()
    between = sum(len(history[n].union - seen_at_samples[n]) for n in sparse)
    return read_log(profiler.log_path), samples, events, between


@pytest.mark.parametrize("every,update_freq", [(1, 3), (4, 2)], ids=["sample-every-step", "updates-between-samples"])
@pytest.mark.parametrize("algorithm_class", [sparselab.SET, sparselab.RigL], ids=["SET", "RigL"])
def test_sparselab_exploration_matches_the_csr(tmp_path, algorithm_class, every, update_freq):
    steps = 18
    records, samples, events, between = train_sparselab(tmp_path, algorithm_class, every, update_freq, steps)
    check_wire(records)
    assert layer_fields(records) == samples  # active_ever, mask_changed, absmax, capacity of every layer, every sample
    assert grow_events(records, exact=True) == events  # count and regrown of every hooked grow
    assert not grow_events(records, exact=False)  # hooked layers are never diffed as well
    # The run really explores, and regrows: the numbers are not trivially equal.
    last = next(r for r in reversed(records) if r["type"] == "sample")
    assert all(l["active_ever"] > l["nnz"] for l in last["layers"] if l["name"] != "head")
    assert any(isinstance(e[3], int) and e[3] > 0 for e in events) or algorithm_class is sparselab.RigL
    assert any(s[n]["mask_changed"] for s in samples.values() for n in ("fc1", "fc2"))
    if every > update_freq:  # positions grown and dropped again between two samples counted all the same
        assert between > 0
    # first update of each layer: no earlier drop was observed, so regrown is left out
    assert [e[3] for e in events[:2]] == ["absent", "absent"]


CORE_DIST = Path(__file__).resolve().parents[2] / "packages" / "core" / "dist" / "index.js"
CORE_EXPLORATION = Path(__file__).resolve().parent / "core_exploration.mjs"


def core_exploration(log: Path) -> dict:
    """What the built core makes of a run log's exploration (see core_exploration.mjs)."""
    try:
        node = find_node()
    except CliNotFound as missing:
        pytest.skip(str(missing))
    if not CORE_DIST.is_file():
        pytest.skip("needs the built core (npx turbo run build)")
    done = subprocess.run([node, str(CORE_EXPLORATION), str(log), str(CORE_DIST)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("every,update_freq", [(1, 3), (4, 2)], ids=["sample-every-step", "updates-between-samples"])
@pytest.mark.parametrize("algorithm_class", [sparselab.SET, sparselab.RigL], ids=["SET", "RigL"])
def test_core_rates_match_the_positions_of_a_real_run(tmp_path, algorithm_class, every, update_freq):
    """ITOP and mask distance as core computes them (its rows, the dashboard's overview, the report's charts), per
    layer and for the whole model at every sample, against the definitions applied to the test's own position
    sets: ITOP = |positions active at any sample or update so far| / numel; mask distance = |previous ^ now| /
    (|previous| + |now|) over consecutive samples; the model's = the sums of those numerators over the sums of
    their denominators, over the masked layers (the dense head carries neither count and is left out)."""
    _, samples, _, _ = train_sparselab(tmp_path, algorithm_class, every, update_freq, steps=18)
    [log] = tmp_path.rglob("records.ndjson")
    core = core_exploration(log)
    numel = {"fc1": 48 * 32, "fc2": 24 * 48}  # out × in of the two SparseLinear layers
    # samples[step][layer] holds the test's set counts: active_ever = |union|, mask_changed = |previous ^ now|,
    # nnz = |now| (see Expected and train_sparselab)
    steps = sorted(samples)
    expected = []
    for i, step in enumerate(steps):
        now, before = samples[step], samples[steps[i - 1]] if i else None
        union = {name: now[name]["active_ever"] for name in numel}
        changed = {name: now[name]["mask_changed"] for name in numel}
        pairs = {name: before[name]["nnz"] + now[name]["nnz"] for name in numel} if before else None
        for name in numel:
            expected.append({"step": step, "layer": name, "itop": union[name] / numel[name],
                             "maskDistance": changed[name] / pairs[name] if before else None})
        expected.append({"step": step, "layer": core["model"], "itop": sum(union.values()) / sum(numel.values()),
                         "maskDistance": sum(changed.values()) / sum(pairs.values()) if before else None})
    assert len(expected) == 3 * len(steps) and len(steps) == 18 // every + 1 + (18 % every > 0)
    # exact: each is one int over another, correctly rounded in both languages
    assert core["rows"] == expected
    assert core["overview"] == expected  # every sample shown
    assert core["itopChart"] == expected and core["maskDistanceChart"] == expected
    # the run really explores and moves its masks: ITOP climbs past the starting density, distances are not all 0
    assert expected[-1]["itop"] > expected[2]["itop"] and any(r["maskDistance"] for r in expected)


def test_a_hooked_layer_is_read_only_after_an_update(tmp_path, monkeypatch):
    from sparselab_profiler.sources import SparseLabLayerSource

    reads = []
    read_positions = SparseLabLayerSource.live_positions
    monkeypatch.setattr(SparseLabLayerSource, "live_positions", lambda self: reads.append(self.info.name) or read_positions(self))
    records, samples, events, _ = train_sparselab(tmp_path, sparselab.SET, every=1, update_freq=4, steps=12)
    assert layer_fields(records) == samples and grow_events(records, exact=True) == events  # exact all the same
    # 13 samples, but each layer's live positions are read at the first one and by each update's hook (steps 4, 8,
    # 12) only: the sample after an update reuses the bits the hook packed
    assert reads == ["fc1", "fc2"] * 4


def test_sparselab_fields_are_the_same_on_the_device_path(tmp_path):
    host, *_ = train_sparselab(tmp_path / "host", sparselab.SET, 2, 3, 10, measure_on_device=False)
    device, *_ = train_sparselab(tmp_path / "device", sparselab.SET, 2, 3, 10, measure_on_device=True)
    assert layer_fields(device) == layer_fields(host)
    assert grow_events(device, exact=True) == grow_events(host, exact=True)


def test_padding_share_of_the_demo_mlp_is_what_its_capacity_says(tmp_path):
    from sparselab_profiler.demo import build_model

    torch.manual_seed(0)
    model = build_model(0.9)
    with profiler_for(tmp_path, 1) as profiler:
        profiler.attach(model)
    layers = {l["name"]: l for l in read_log(profiler.log_path)[1]["layers"]}
    for name in ("fc1", "fc2"):
        csr = getattr(model, name)._csr
        assert layers[name]["capacity"] == csr.total_capacity > csr.nnz == layers[name]["nnz"]
        # SparseLab pads each row to ceil(1.2 · row_nnz): about a sixth of the slots are padding
        assert 0.1 < 1 - layers[name]["nnz"] / layers[name]["capacity"] < 0.25
    assert "capacity" not in layers["head"] and "active_ever" not in layers["head"]


# ── rigl-torch: a hooked scheduler with bool masks ───────────────────


def test_rigl_torch_exploration_matches_its_masks(tmp_path):
    delta, t_end, alpha, every = 2, 30, 0.3, 3
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = RigLScheduler(model, optimizer, dense_allocation=0.3, T_end=t_end, delta=delta, alpha=alpha)
    torch.manual_seed(1)
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 3, (16,))
    governed = {"2": 1}  # layer name → index in backward_masks (the first conv stays dense in rigl-torch)
    history = {name: Expected() for name in governed}
    samples, events = {}, []

    def expect_sample(step: int) -> None:
        samples[step] = {}
        for name, index in governed.items():
            mask = scheduler.backward_masks[index]
            weight = model[int(name)].weight.detach()
            now = mask_positions(mask)
            samples[step][name] = {"nnz": len(now), **history[name].sample(now), "absmax": dense_absmax(weight[mask.bool()]),
                                   "capacity": None}

    profiler = profiler_for(tmp_path, every).attach(model)
    expect_sample(0)
    for step in range(1, 25):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        before = {n: mask_positions(scheduler.backward_masks[i]) for n, i in governed.items()}
        updates = scheduler.step + 1 < t_end and (scheduler.step + 1) % delta == 0
        if scheduler():
            optimizer.step()
        if updates:
            for name, index in governed.items():
                _, grown, regrown = history[name].update(before[name], mask_positions(scheduler.backward_masks[index]))
                events.append((step, name, grown, "absent" if regrown is None else regrown))
        profiler.step()
        if step % every == 0:
            expect_sample(step)
    profiler.close()

    records = read_log(profiler.log_path)
    check_wire(records)
    run = records[0]
    assert [l["mask_source"] for l in run["layers"]] == ["inferred_zeros", "rigl_torch", "inferred_zeros"]
    fields = layer_fields(records)
    assert {step: {n: fields[step][n] for n in governed} for step in fields} == samples
    assert grow_events(records, exact=True) == events
    assert sum(e[3] for e in events if e[3] != "absent") > 0, "rigl-torch regrows what it dropped"
    assert samples[24]["2"]["active_ever"] > 87  # it explored beyond its 87 connections
    for record in records:  # dense layers: absmax only
        for layer in record.get("layers", []) if record["type"] == "sample" else []:
            if layer["name"] in ("0", "5"):
                assert not any(k in layer for k in EXPLORATION) and layer["absmax"] > 0


# ── torch.nn.utils.prune: masks moved by hand, drop/grow inferred ────


#: step → (positions of the pruned layer to set, to clear), moved after that step's optimizer step. Samples fall
#: on even steps, so a sample-to-sample diff sees only the net change of its two steps.
MOVES = {
    2: (set(), set(range(40, 60))),                                  # drop the active ones of 40..59
    4: (set(range(40, 50)) | set(range(100, 106)), set(range(200, 230))),  # regrow 40..49, grow 100..105
    5: (set(range(0, 4)), set()),                                    # active between two samples only …
    6: (set(range(50, 60)), set(range(0, 4)) | set(range(100, 103))),  # … dropped again: never observed
    8: (set(range(100, 103)) | set(range(200, 215)), set()),         # regrow 100..102 (step 6's drop)
    12: (set(), set(range(40, 45))),                                 # drop 40..44; nothing moves by step 14, …
    16: (set(range(40, 45)), set()),                                 # … so regrowing them at 16 regrows none
}
STEPS = 16


def pruned_model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 24), nn.ReLU(), nn.Linear(24, 12), nn.ReLU(), nn.Linear(12, 4))
    prune.random_unstructured(model[2], "weight", amount=0.5)
    with torch.no_grad():  # positions 0..3 start masked, so step 5 really grows them
        model[2].weight_mask.view(-1)[0:4] = 0
    return model


def train_pruned(tmp_path, measure_on_device: Optional[bool]):
    model = pruned_model()
    layer = model[2]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    torch.manual_seed(1)
    x, y = torch.randn(32, 16), torch.randint(0, 4, (32,))
    expected = Expected()
    samples, events = {}, []

    def expect_sample(step: int) -> None:
        now = mask_positions(layer.weight_mask)
        if expected.previous is not None:
            dropped, grown, regrown = expected.update(expected.previous, now)
            if dropped or grown:
                events.append((step, "2", grown, "absent" if regrown is None else regrown))
        orig, mask = layer.weight_orig.detach(), layer.weight_mask.bool()
        samples[step] = {"2": {"nnz": len(now), **expected.sample(now), "absmax": dense_absmax(orig[mask]), "capacity": None}}
        for dense in ("0", "4"):
            weight = model[int(dense)].weight
            samples[step][dense] = {"nnz": int(torch.count_nonzero(weight)), "active_ever": None, "mask_changed": None,
                                    "capacity": None, "absmax": dense_absmax(weight)}

    profiler = profiler_for(tmp_path, 2, measure_on_device=measure_on_device).attach(model)
    expect_sample(0)
    for step in range(1, STEPS + 1):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        grow, drop = MOVES.get(step, (set(), set()))
        with torch.no_grad():
            flat = layer.weight_mask.view(-1)
            flat[sorted(grow)] = 1
            flat[sorted(drop)] = 0
        profiler.step()
        if step % 2 == 0:
            expect_sample(step)
    profiler.close()
    return read_log(profiler.log_path), samples, events


@pytest.mark.parametrize("measure_on_device", [None, True], ids=["host", "device-path"])
def test_inferred_exploration_of_a_pruned_layer(tmp_path, measure_on_device):
    records, samples, events = train_pruned(tmp_path, measure_on_device)
    check_wire(records)
    assert layer_fields(records) == samples
    assert grow_events(records, exact=False) == events
    # The same, reckoned by hand from MOVES: regrown counts only the previous diff's drop (step 4 regrows
    # 40..49 of step 2's drop; step 6's 50..59 were dropped two diffs before, not by step 4's: none regrown;
    # step 16's 40..44 were dropped by step 12's diff, but step 14's, in between, dropped nothing).
    start = mask_positions(pruned_model()[2].weight_mask)
    assert [(e[0], e[3]) for e in events] == [(2, "absent"), (4, len(start & set(range(40, 50)))), (6, 0), (8, 3),
                                              (12, 0), (16, 0)]
    assert samples[STEPS]["2"]["active_ever"] == \
        len(start | set(range(40, 60)) | set(range(100, 106)) | set(range(200, 215)))


def test_the_device_path_writes_the_same_exploration_fields(tmp_path):
    host, *_ = train_pruned(tmp_path / "host", measure_on_device=False)
    device, *_ = train_pruned(tmp_path / "device", measure_on_device=True)
    assert layer_fields(device) == layer_fields(host)
    assert grow_events(device, exact=False) == grow_events(host, exact=False)


def test_a_storage_change_restarts_the_history(tmp_path):
    model = pruned_model()
    layer = model[2]
    start = mask_positions(layer.weight_mask)
    profiler = profiler_for(tmp_path, 1).attach(model)
    with torch.no_grad():
        layer.weight_mask.view(-1)[sorted(set(range(288)) - start)[:7]] = 1  # 7 grown
    profiler.step()
    prune.remove(layer, "weight")  # inferred_zeros now: no exploration fields
    profiler.step()
    prune.random_unstructured(layer, "weight", amount=0.5)  # a declared mask again: counted afresh
    fresh = mask_positions(layer.weight_mask)
    profiler.step()
    profiler.close()
    records = read_log(profiler.log_path)
    check_wire(records)
    fields = layer_fields(records)
    assert [fields[s]["2"]["active_ever"] for s in range(4)] == [len(start), len(start) + 7, None, len(fresh)]
    assert [fields[s]["2"]["mask_changed"] for s in range(4)] == [None, 7, None, None]


# ── the memory budget covers the new bits ────────────────────────────


def test_over_the_memory_budget_the_exploration_fields_are_left_out(tmp_path):
    model, algorithm = sparselab_model(sparselab.SET, 2)
    # 32·48 + 48·24 weights at 3 bits each (+ 24·10 dense at 2) need ~1.1 KB; 1,000 bytes are not enough
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profiler = profiler_for(tmp_path, 2, memory_budget_mb=1000 / 2**20).attach(model, algorithm=algorithm)
    x, y = torch.randn(8, 32), torch.randint(0, 10, (8,))
    for _ in range(6):
        F.cross_entropy(model(x), y).backward()
        algorithm.step()
        profiler.step()
    profiler.close()
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "active_ever, mask_changed and regrown" in messages[0]
    records = read_log(profiler.log_path)
    check_wire(records)
    layers = [l for r in records if r["type"] == "sample" for l in r["layers"]]
    assert layers and not any(k in l for l in layers for k in ("active_ever", "mask_changed"))
    assert all("absmax" in l for l in layers) and all("capacity" in l for l in layers if l["name"] != "head")
    grows = [r for r in records if r["type"] == "event" and r["op"] == "grow"]
    assert grows and all(r["exact"] and "regrown" not in r for r in grows)


def test_the_budget_counts_three_bits_per_masked_weight(tmp_path):
    model, algorithm = sparselab_model(sparselab.SET, 2)
    # bits packed into whole 64-bit words (8 bytes): 3 bitsets per masked layer, 2 for the dense head
    needed = math.ceil(32 * 48 / 64) * 8 * 3 + math.ceil(48 * 24 / 64) * 8 * 3 + math.ceil(24 * 10 / 64) * 8 * 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exactly enough: no warning
        profiler = profiler_for(tmp_path, 1, memory_budget_mb=needed / 2**20).attach(model, algorithm=algorithm)
    for _ in range(4):
        algorithm.step()
        profiler.step()
    assert profiler._history.held_bytes() == needed  # what the tracker really holds, as the budget counted
    profiler.close()
    with pytest.warns(RuntimeWarning, match="mask snapshots"):
        over = profiler_for(tmp_path, 1, memory_budget_mb=(needed - 1) / 2**20).attach(model)
    over.close()
