"""Forwarding into the user's own W&B run, checked with the real client in offline mode: the offline run file is
decoded record by record, and every user row must come back unchanged and every profiler sample exactly once."""

import warnings

import pytest
import torch
from torch import nn

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback
from sparselab_profiler.records import EventRecord, Histogram, LayerSample, SampleRecord
from sparselab_profiler.wandb_forward import merge_bins, wandb_row
from wandb_offline import history_rows, offline, wandb  # noqa: F401 - offline is a fixture

USER_KEYS = {"loss", "epoch_loss", "train/loss"}


# ── the mapping ──────────────────────────────────────────────────────

def layer(name, numel, nnz, counts, lo=-1.0, hi=1.0):
    return LayerSample(name=name, nnz=nnz, numel=numel, sparsity=1 - nnz / numel, bytes=nnz * 8, dense_bytes=numel * 4,
                       hist=Histogram(lo=lo, hi=hi, counts=counts), nonfinite=0)


def event(step, name, op, count):
    return EventRecord(run="r", seq=0, step=step, time=0.0, layer=name, op=op, count=count, exact=True,
                       algorithm="sparselab", requested=None)


def test_row_holds_model_totals_and_exact_histograms():
    sample = SampleRecord(run="r", seq=0, step=30, time=0.0, cost_ms=1.0, step_ms=None, layers=[
        layer("fc1", 100, 10, [1, 2, 3, 4], lo=-0.5, hi=0.5), layer("fc2", 50, 25, [5, 0, 0, 20])])
    row = wandb_row(sample, [event(25, "fc1", "drop", 3), event(28, "fc1", "drop", 2), event(28, "fc2", "grow", 7)])
    assert row["sparselab/step"] == 30
    assert row["sparselab/model/nnz"] == 35 and row["sparselab/model/sparsity"] == 1 - 35 / 150
    assert row["sparselab/model/bytes"] == 35 * 8 and row["sparselab/model/dense_bytes"] == 150 * 4
    assert (row["sparselab/model/drops"], row["sparselab/model/grows"]) == (5, 7)
    assert (row["sparselab/layer/fc1/drops"], row["sparselab/layer/fc1/grows"]) == (5, 0)
    assert (row["sparselab/layer/fc2/drops"], row["sparselab/layer/fc2/grows"]) == (0, 7)
    assert row["sparselab/layer/fc1/nnz"] == 10 and row["sparselab/layer/fc2/sparsity"] == 0.5
    hist = row["sparselab/layer/fc1/hist"]
    assert list(hist.histogram) == [1, 2, 3, 4] and list(hist.bins) == [-0.5, -0.25, 0.0, 0.25, 0.5]


def test_bins_past_512_merge_pairwise_with_exact_counts():
    counts = list(range(1024))
    edges = [i / 1024 for i in range(1025)]
    merged, merged_edges = merge_bins(counts, edges)
    assert merged == [2 * i + 2 * i + 1 for i in range(512)] and merged_edges == edges[::2]
    odd, odd_edges = merge_bins(list(range(1023)), edges[:1024])  # an odd last bin stays alone
    assert len(odd) == 512 and odd[-1] == 1022 and odd_edges[-2:] == [1022 / 1024, 1023 / 1024]
    assert sum(odd) == sum(range(1023))
    sample = SampleRecord(run="r", seq=0, step=1, time=0.0, cost_ms=1.0, step_ms=None,
                          layers=[layer("big", 10_000, 1024 * 1023 // 2, counts, lo=0.0, hi=1.0)])
    hist = wandb_row(sample)["sparselab/layer/big/hist"]  # wandb.Histogram itself rejects more than 512 bins
    assert list(hist.histogram) == merged and list(hist.bins) == pytest.approx(merged_edges, abs=1e-15)


def test_only_the_largest_layers_get_keys_the_rest_count_in_totals():
    sizes = {"a": 10, "b": 40, "c": 30, "d": 20, "e": 40}
    sample = SampleRecord(run="r", seq=0, step=1, time=0.0, cost_ms=1.0, step_ms=None,
                          layers=[layer(name, n, n // 2, [n // 2]) for name, n in sizes.items()])
    row = wandb_row(sample, max_layers=3)
    kept = {key.split("/")[2] for key in row if key.startswith("sparselab/layer/")}
    assert kept == {"b", "e", "c"}
    assert row["sparselab/model/nnz"] == sum(n // 2 for n in sizes.values())


# ── the user's logging patterns, in offline mode ─────────────────────

def train(pattern: str, every: int, steps: int, tmp_path):
    """Trains a small model with the profiler forwarding into a fresh offline run, logging as `pattern` does;
    returns the decoded rows, the rows the user logged as (their _step, their keys) and the run log."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = wandb.init(project="sparselab-test")
    if pattern == "lightning":  # what Lightning's WandbLogger declares
        run.define_metric("trainer/global_step")
        run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
    logged = []
    profiler = SparsityProfilerCallback(every=every, logdir=tmp_path / "runs", server=None, overhead_budget=None,
                                        report=False, wandb=True)
    profiler.attach(model)
    assert run.config["sparselab"]["every"] == every
    for step in range(1, steps + 1):
        x = torch.randn(32, 16)
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():  # prune and regrow a few weights, so the inferred drop/grow counts are not zero
            model[0].weight.view(-1)[torch.randperm(128)[:step % 7 + 3]] = 0
        value = round(loss.item(), 6)
        if pattern == "implicit":
            run.log({"loss": value})
            logged.append((step - 1, {"loss": value}))
        elif pattern == "explicit":
            run.log({"loss": value}, step=step)
            logged.append((step, {"loss": value}))
        elif pattern == "lightning":
            run.log({"train/loss": value, "trainer/global_step": step})
            logged.append((step - 1, {"train/loss": value, "trainer/global_step": step}))
        profiler.step(loss=loss)
        if pattern == "epoch" and step % 4 == 0:
            run.log({"epoch_loss": value}, step=step // 4 - 1)
            logged.append((step // 4 - 1, {"epoch_loss": value}))
    profiler.close()
    run.finish()
    return history_rows(run), logged, read_log(profiler.log_path)


@pytest.mark.parametrize("pattern, every", [("implicit", 2), ("explicit", 3), ("epoch", 2), ("never", 2),
                                            ("lightning", 1)])
def test_user_rows_are_unchanged_and_every_sample_arrives(offline, pattern, every):
    rows, logged, records = train(pattern, every, steps=12, tmp_path=offline)

    user_rows = [row for row in rows if USER_KEYS & row.keys()]
    assert [(row["_step"], {k: row[k] for k in keys}) for row, (_, keys) in zip(user_rows, logged)] == logged
    assert len(user_rows) == len(logged)
    assert [row["_step"] for row in rows] == sorted({row["_step"] for row in rows})  # no _step twice

    samples = [r for r in records if r["type"] == "sample"]
    assert len(samples) >= steps_sampled(12, every)
    ours = [row for row in rows if "sparselab/step" in row]
    assert [row["sparselab/step"] for row in ours] == [s["step"] for s in samples]  # each once, in order
    drops = {}
    for r in records:
        if r["type"] == "event" and r["op"] == "drop":
            drops[(r["step"], r["layer"])] = drops.get((r["step"], r["layer"]), 0) + r["count"]
    for row, sample in zip(ours, samples):
        assert row["sparselab/model/nnz"] == sum(l["nnz"] for l in sample["layers"])
        for l in sample["layers"]:
            key = f"sparselab/layer/{l['name']}/"
            n, lo, hi = len(l["hist"]["counts"]), l["hist"]["lo"], l["hist"]["hi"]
            assert row[key + "hist/values"] == l["hist"]["counts"]
            assert row[key + "hist/bins"] == pytest.approx([lo + (hi - lo) * i / n for i in range(n + 1)], abs=1e-12)
            assert row[key + "nnz"] == l["nnz"] and row[key + "sparsity"] == l["sparsity"]
            assert row[key + "drops"] == drops.get((sample["step"], l["name"]), 0)
    assert any(row["sparselab/model/drops"] > 0 for row in ours)


def steps_sampled(steps: int, every: int) -> int:
    return 1 + steps // every  # at attach, then every `every` steps


def test_wandb_none_forwards_only_into_a_live_run(offline):
    model = nn.Linear(4, 4)
    with SparsityProfilerCallback(logdir=offline / "a", server=None, report=False) as profiler:
        profiler.attach(model)
    assert profiler._wandb is None
    run = wandb.init(project="sparselab-test")
    with SparsityProfilerCallback(logdir=offline / "b", server=None, report=False, wandb=False) as profiler:
        profiler.attach(model)
    assert profiler._wandb is None
    with SparsityProfilerCallback(logdir=offline / "c", server=None, report=False) as profiler:
        profiler.attach(model)
    run.finish()
    assert [row["sparselab/step"] for row in history_rows(run)] == [0]


def test_wandb_true_without_a_run_warns_and_profiles_on(offline):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with SparsityProfilerCallback(logdir=offline, server=None, report=False, wandb=True) as profiler:
            profiler.attach(nn.Linear(4, 4))
    assert any("no wandb.run" in str(w.message) for w in caught)
    assert [r["type"] for r in read_log(profiler.log_path)] == ["run", "sample", "end"]


class FailingRun:
    """A run whose log() fails, as a dead W&B service would."""

    _local_step = 0
    _teardown_hooks = []

    class config(dict):
        def update(self, values, allow_val_change=False):
            dict.update(self, values)

    def __init__(self):
        self.config = FailingRun.config()

    def define_metric(self, *args, **kwargs):
        pass

    def log(self, row, commit=None):
        raise ConnectionError("service gone")


def test_a_failing_wandb_stops_forwarding_not_profiling(tmp_path, monkeypatch):
    run = FailingRun()
    monkeypatch.setattr(wandb, "run", run)
    model = nn.Linear(4, 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with SparsityProfilerCallback(every=1, logdir=tmp_path, server=None, report=False,
                                      overhead_budget=None) as profiler:
            profiler.attach(model)
            for _ in range(3):
                profiler.step()
    assert run.config["sparselab"]["every"] == 1
    assert [str(w.message) for w in caught if "W&B" in str(w.message)] == [
        "SparseLab Profiler: forwarding to W&B stopped (ConnectionError: service gone); the run log and dashboard "
        "are unaffected."]
    assert [r["type"] for r in read_log(profiler.log_path)] == ["run", "sample", "sample", "sample", "sample", "end"]


def test_wandb_options_set_the_forwarding_interval_and_the_layers_with_keys(offline):
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4))  # "0": 128 weights, "2": 32
    run = wandb.init(project="sparselab-test")
    with SparsityProfilerCallback(every=2, logdir=offline, server=None, overhead_budget=None, report=False,
                                  wandb={"every": 3, "max_layers": 1}) as profiler:
        profiler.attach(model)
        for _ in range(12):
            profiler.step()
    run.finish()
    samples = [r["step"] for r in read_log(profiler.log_path) if r["type"] == "sample"]
    assert samples == [0, 2, 4, 6, 8, 10, 12]
    rows = [row for row in history_rows(run) if "sparselab/step" in row]
    assert [row["sparselab/step"] for row in rows] == samples[::3]  # every 3rd sample
    assert {key.split("/")[2] for row in rows for key in row if key.startswith("sparselab/layer/")} == {"0"}
    assert run.config["sparselab"]["wandb"] == {"every": 3, "max_layers": 1}


@pytest.mark.parametrize("value, message", [
    ({"evry": 2}, "wandb got unknown option(s) 'evry'; known: every, max_layers"),
    ({"every": 0}, "wandb['every'] must be an integer of at least 1, got 0"),
    ("yes", "wandb must be None, True, False or a dict of every, max_layers, got 'yes'"),
])
def test_bad_wandb_options_say_what_is_wrong(value, message):
    with pytest.raises(ValueError) as raised:
        SparsityProfilerCallback(server=None, wandb=value)
    assert str(raised.value) == message
