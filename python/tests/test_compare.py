"""`sparselab-profiler compare` on real SparseLab runs: every number of its summary is computed again here,
independently, from the two run logs."""

from __future__ import annotations

import json
import subprocess
from collections import OrderedDict, defaultdict
from pathlib import Path

import pytest
import sparselab
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback
from sparselab_profiler.server_launcher import find_cli

CLI = find_cli()
pytestmark = pytest.mark.skipif(CLI is None, reason="needs Node.js and the built CLI (scripts/setup.sh)")


def train(logdir: Path, algorithm_class, drop_fraction: float, layers=("fc1", "fc2"), steps: int = 120, dead_head: bool = False,
          metrics: dict | None = None) -> Path:
    """Trains a SparseLab MLP under the profiler and returns its run log. `dead_head` prunes the head to 100% (every
    weight masked); `metrics` maps a plugin metric's name to (fn, warn_above)."""
    torch.manual_seed(0)
    modules = OrderedDict()
    width = 64
    for name in layers:
        modules[name] = sparselab.SparseLinear(width, 32, sparsity=0.9)
        modules[f"{name}_act"] = nn.ReLU()
        width = 32
    modules["head"] = nn.Linear(width, 10)
    model = nn.Sequential(modules)
    algorithm = algorithm_class(sparsity=0.9, drop_fraction=drop_fraction, update_freq=20, seed=0)
    model.apply(algorithm)
    if dead_head:
        prune.custom_from_mask(model.head, "weight", torch.zeros_like(model.head.weight))
    x, y = torch.randn(256, 64, generator=torch.Generator().manual_seed(1)), torch.randint(0, 10, (256,), generator=torch.Generator().manual_seed(2))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    profiler = SparsityProfilerCallback(server=None, logdir=logdir, every=10, overhead_budget=None)
    for name, (fn, warn_above) in (metrics or {}).items():
        profiler.metric(name, fn, warn_above=warn_above)
    profiler.attach(model, algorithm=algorithm)
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        algorithm.step()
        profiler.step(loss=loss)
    profiler.close()
    return profiler.log_path


def compare(*logs: Path, align: str = "step") -> dict:
    done = subprocess.run([*CLI, "compare", *map(str, logs), "--json", "--align", align], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def expected_summary(log: Path, flags: dict | None = None) -> dict:
    """The summary's numbers, from the run log alone (the flag counts, unless given, from `check --json`)."""
    records = read_log(log)
    run, end = records[0], records[-1]
    samples = [r for r in records if r["type"] == "sample"]
    latest = samples[-1]
    nnz = sum(l["nnz"] for l in latest["layers"])
    numel = sum(l["numel"] for l in latest["layers"])
    per_step = defaultdict(lambda: {"drop": 0, "grow": 0})
    for r in records:
        if r["type"] == "event":
            per_step[r["step"]][r["op"]] += r["count"]
    rewired = {step: max(c["drop"], c["grow"]) for step, c in per_step.items()}
    late = [count for step, count in rewired.items() if step > end["step"] * 0.75]
    recent = [s for s in samples[-20:] if s["step_ms"] is not None]
    if flags is None:
        found = json.loads(subprocess.run([*CLI, "check", str(log), "--json", "--fail-on", "never"], capture_output=True, text=True).stdout)["flags"]
        flags = {severity: sum(f["severity"] == severity for f in found) for severity in ("info", "warning", "critical")}
    return {
        "run": run["run"], "algorithm": run["algorithm"]["name"], "params": run["algorithm"]["params"], "steps": end["step"],
        "wallSeconds": end["time"] - run["started"], "sparsity": 1 - nnz / numel, "nnz": nnz,
        "bytes": sum(l["bytes"] for l in latest["layers"]), "denseBytes": sum(l["dense_bytes"] for l in latest["layers"]),
        "churnTotal": sum(rewired.values()) / nnz, "churnLate": sum(late) / len(late) / nnz, "updates": len(rewired),
        "flags": flags,
        # the interval is fixed (no budget): every sample stands for `every` steps
        "overhead": sum(s["cost_ms"] for s in recent) / sum(run["sampler"]["every"] * s["step_ms"] for s in recent),
        "finalLoss": latest["scalars"]["loss"],
    }


def assert_summary_is(column: dict, expected: dict) -> None:
    for key, value in expected.items():
        assert column[key] == (pytest.approx(value, rel=1e-9) if isinstance(value, float) else value), key
    assert column["savedBytes"] == expected["denseBytes"] - expected["bytes"]


def test_set_against_rigl_on_the_same_model(tmp_path):
    set_log = train(tmp_path / "set", sparselab.SET, 0.3)
    rigl_log = train(tmp_path / "rigl", sparselab.RigL, 0.3)
    result = compare(set_log, rigl_log)
    assert [c["algorithm"] for c in result["summary"]] == ["SET", "RigL"] and result["algorithmDiffers"] is True
    assert result["differingParams"] == []  # same sparsity, drop_fraction, update_freq, seed
    for column, log in zip(result["summary"], (set_log, rigl_log)):
        assert_summary_is(column, expected_summary(log))
    assert result["sharedLayers"] == ["fc1", "fc2", "head"]


def test_two_drop_fractions_differ_in_that_parameter_only(tmp_path):
    low = train(tmp_path / "low", sparselab.RigL, 0.1)
    high = train(tmp_path / "high", sparselab.RigL, 0.5)
    result = compare(low, high)
    assert result["differingParams"] == ["drop_fraction"] and result["algorithmDiffers"] is False
    for column, log in zip(result["summary"], (low, high)):
        assert_summary_is(column, expected_summary(log))
    assert result["summary"][1]["churnTotal"] > result["summary"][0]["churnTotal"]


def test_runs_whose_layers_differ_list_each_ones_own(tmp_path):
    a = train(tmp_path / "a", sparselab.SET, 0.3, layers=("fc1", "fc2"), steps=40)
    b = train(tmp_path / "b", sparselab.SET, 0.3, layers=("fc1", "fc2_renamed", "extra"), steps=40)
    result = compare(a, b)
    assert result["sharedLayers"] == ["fc1", "head"]
    assert result["onlyIn"] == [{"run": read_log(a)[0]["run"], "layers": ["fc2"]},
                                {"run": read_log(b)[0]["run"], "layers": ["fc2_renamed", "extra"]}]
    text = subprocess.run([*CLI, "compare", str(a), str(b)], capture_output=True, text=True, timeout=60).stdout
    assert "Layers in every run: 2" in text and f"Only in {read_log(b)[0]['run']}: fc2_renamed, extra" in text


def mean_abs_active(name, weight, mask):
    """A plugin metric: the mean |w| of a layer's active weights (NaN, so null, for a layer with none)."""
    return (weight if mask is None else weight[mask]).abs().mean()


def flags_by_definition(log: Path) -> dict:
    """The rules these runs can raise, counted from the run log by their definitions in docs/flags.md: one
    critical dead-layer flag per layer that had no active weights (or all within ±1e-6) at some sample; one
    metric-limit warning per metric and layer whose value was above its warn_above (or below its warn_below) at
    some sample, null values never; one layer-off-target warning per masked layer more than 0.1 from the
    algorithm's sparsity for 3 samples in a row (a head pruned to 100% sits exactly 0.1 from SET's 90%: not far).
    The model raises nothing else (its plain runs raise no flag at all)."""
    records = read_log(log)
    run = records[0]
    limits = {r["name"]: (r["warn_above"], r["warn_below"]) for r in records if r["type"] == "metric"}
    target = run["algorithm"]["params"]["sparsity"]
    masked = {l["name"] for l in run["layers"] if l["mask_source"] != "inferred_zeros"}
    dead, beyond, off, far_for = set(), set(), set(), defaultdict(int)
    for sample in (r for r in records if r["type"] == "sample"):
        for layer in sample["layers"]:
            if layer["name"] in masked:
                far_for[layer["name"]] = far_for[layer["name"]] + 1 if abs(layer["sparsity"] - target) > 0.1 else 0
                if far_for[layer["name"]] >= 3:
                    off.add(layer["name"])
            if layer["nnz"] == 0 or (layer.get("absmax") is not None and layer["absmax"] <= 1e-6 and layer["nonfinite"] < layer["nnz"]):
                dead.add(layer["name"])
            for metric, value in (layer.get("metrics") or {}).items():
                above, below = limits.get(metric, (None, None))
                if value is not None and ((above is not None and value > above) or (below is not None and value < below)):
                    beyond.add((metric, layer["name"]))
    return {"info": 0, "warning": len(beyond) + len(off), "critical": len(dead)}


def test_a_run_that_raises_flags_counts_them_by_severity(tmp_path):
    # both runs watch mean |w| with a limit that fc2 passes at some samples; the second prunes its head to 100%
    metrics = {"mean_abs_active": (mean_abs_active, 0.25)}
    healthy = train(tmp_path / "healthy", sparselab.SET, 0.3, steps=40, metrics=metrics)
    dead = train(tmp_path / "dead", sparselab.SET, 0.3, steps=40, metrics=metrics, dead_head=True)
    result = compare(healthy, dead)
    counts = [flags_by_definition(log) for log in (healthy, dead)]
    assert counts[1]["critical"] == 1 and counts[0]["critical"] == 0  # the head, no weight active from step 0
    assert counts[0]["warning"] >= 1 and counts[1]["warning"] >= 1
    for column, log, flags in zip(result["summary"], (healthy, dead), counts):
        assert column["flags"] == flags
        assert_summary_is(column, expected_summary(log, flags=flags))
    assert result["sharedLayers"] == ["fc1", "fc2", "head"]
    # the dead head is in the log as the rule reads it: no active weight at any sample
    assert {l["nnz"] for r in read_log(dead) if r["type"] == "sample" for l in r["layers"] if l["name"] == "head"} == {0}
