"""Plugin metrics: user-defined per-layer numbers on each layer sample. A tiny real model (a SparseLab
SparseLinear that SET rewires, a dense Linear and a torch.nn.utils.prune Linear) trains a few real steps; the
values each sample must carry are computed here at the sampled step from the layers' own storage (the CSR's
fields, `weight_orig` and `weight_mask`, the dense weight), independently of the profiler."""

import math
import time
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import sparselab
import torch
import torch.nn.functional as F
from torch import nn
from torch.ao.pruning import WeightNormSparsifier
from torch.nn.utils import prune

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback, records
from sparselab_profiler.discovery import LayerTracker
from sparselab_profiler.plugin_metrics import PendingMetrics, weight_and_mask
from sparselab_profiler.records import MAX_METRICS, MAX_SCALAR_NAME_CHARS
from wire_schema import SCHEMA, validate_record

EVERY = 3
STEPS = 10
SAMPLE_STEPS = [0, 3, 6, 9, 10]  # attach, every 3 steps, and close()


def model_and_algorithm():
    torch.manual_seed(0)
    layers = OrderedDict(sparse=sparselab.SparseLinear(16, 24, sparsity=0.8), act1=nn.ReLU(),
                         dense=nn.Linear(24, 12), act2=nn.ReLU(), pruned=nn.Linear(12, 4))
    model = nn.Sequential(layers)
    prune.l1_unstructured(model.pruned, "weight", amount=0.5)
    algorithm = sparselab.SET(sparsity=0.8, drop_fraction=0.3, update_freq=4, seed=0)
    model.sparse.apply(algorithm)
    return model, algorithm


def sparselab_live_values(layer) -> np.ndarray:
    """The live values of a SparseLinear, read from its CSR: the first row_nnz slots of each row."""
    csr = layer._csr
    values, starts, counts = np.asarray(csr.values), np.asarray(csr.row_start), np.asarray(csr.row_nnz)
    return np.concatenate([values[s:s + n] for s, n in zip(starts, counts)])


def expected_now(model) -> dict[str, dict[str, float]]:
    """Per layer, the mean |w| of its active weights and how many are active, from the layers' own storage."""
    live = sparselab_live_values(model.sparse)
    orig, mask = model.pruned.weight_orig.detach(), model.pruned.weight_mask.bool()
    dense = model.dense.weight.detach()
    return {
        "sparse": {"mean_abs_active": float(np.abs(live).astype(np.float64).mean()), "active": model.sparse.nnz},
        "dense": {"mean_abs_active": float(dense.abs().double().mean()), "active": dense.numel()},
        "pruned": {"mean_abs_active": float(orig[mask].abs().double().mean()), "active": int(torch.count_nonzero(mask))},
    }


def mean_abs_active(name, weight, mask):
    return (weight if mask is None else weight[mask]).abs().mean()  # a one-element tensor


def active(name, weight, mask):
    return weight.numel() if mask is None else int(torch.count_nonzero(mask))  # a Python int


def train(profiler, model, algorithm, steps=STEPS, at_sample=None, before_step=None, losses=None) -> dict[int, dict]:
    """Trains `steps` steps; returns, per sampled step, expected_now() taken right after that step's sample.
    Appends each step's loss to `losses` when given."""
    torch.manual_seed(1)
    x, y = torch.randn(32, 16), torch.randint(0, 4, (32,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    expected = {0: expected_now(model)}
    for step in range(1, steps + 1):
        if before_step:
            before_step(step)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if losses is not None:
            losses.append(loss.detach().clone())
        optimizer.step()
        algorithm.step()
        profiler.step()
        if step % EVERY == 0 or step == steps:  # close() samples the last step; nothing changes in between
            expected[step] = expected_now(model)
    return expected


def samples_of(profiler) -> list[dict]:
    log = read_log(profiler.log_path)
    for record in log:
        validate_record(record)
    assert log[-1]["type"] == "end" and log[-1]["status"] == "finished"
    return [r for r in log if r["type"] == "sample"]


def metrics_by_step(samples) -> dict[int, dict[str, dict]]:
    return {s["step"]: {l["name"]: l.get("metrics") for l in s["layers"]} for s in samples}


def profiler_for(tmp_path, **options) -> SparsityProfilerCallback:
    return SparsityProfilerCallback(every=EVERY, logdir=tmp_path, server=None, overhead_budget=None, **options)


def test_each_layer_sample_carries_each_metric_computed_from_the_weights_at_that_step(tmp_path):
    model, algorithm = model_and_algorithm()
    outside = []  # |weight| outside the mask, seen by a metric: must be exactly zero

    def zero_outside_mask(name, weight, mask):
        outside.append(0.0 if mask is None else float(weight[~mask].abs().sum()))
        return weight.shape[0]

    profiler = profiler_for(tmp_path, metrics={"mean_abs_active": mean_abs_active, "active": active, "rows": zero_outside_mask})
    with profiler:
        profiler.attach(model, algorithm=algorithm)
        expected = train(profiler, model, algorithm)
    samples = samples_of(profiler)
    assert [s["step"] for s in samples] == SAMPLE_STEPS
    assert any(r["type"] == "event" and r["count"] for r in read_log(profiler.log_path)), "SET must actually rewire"
    for step, layers in metrics_by_step(samples).items():
        assert list(layers) == ["sparse", "dense", "pruned"]
        for name, got in layers.items():
            assert list(got) == ["mean_abs_active", "active", "rows"]  # in the order they were registered
            assert got["mean_abs_active"] == pytest.approx(expected[step][name]["mean_abs_active"], rel=1e-6), (step, name)
            assert got["active"] == expected[step][name]["active"], (step, name)
        assert (layers["sparse"]["rows"], layers["dense"]["rows"], layers["pruned"]["rows"]) == (24, 12, 4)
    # the values changed with training and rewiring, and each sample recorded its own step's
    assert len({m["sparse"]["mean_abs_active"] for m in metrics_by_step(samples).values()}) == len(SAMPLE_STEPS)
    assert outside == [0.0] * len(outside) and len(outside) == 3 * len(SAMPLE_STEPS)


def test_what_a_metric_receives_for_each_kind_of_layer():
    model, _ = model_and_algorithm()
    model.add_module("masked", nn.Linear(4, 8))
    sparsifier = WeightNormSparsifier(sparsity_level=0.5, sparse_block_shape=(1, 4), zeros_per_block=4)
    sparsifier.prepare(model, config=[{"tensor_fqn": "masked.weight"}])
    sparsifier.step()
    with torch.no_grad():
        model.pruned.weight_orig.add_(1.0)  # non-zero everywhere: the pruned positions must still read as zeros
    sources = {s.info.name: s for s in LayerTracker(model).sources}
    assert [s.info.mask_source for s in sources.values()] == ["sparselab", "inferred_zeros", "torch_prune", "parametrization"]

    weight, mask = weight_and_mask(sources["sparse"])  # a dense view of the Padded-CSR, built for the call
    csr = model.sparse._csr
    reference = sparselab.layout.to_dense(csr)
    assert weight.shape == mask.shape == (24, 16) and weight.dtype == torch.float32 and mask.dtype == torch.bool
    assert torch.equal(weight, reference)
    starts, counts, cols = np.asarray(csr.row_start), np.asarray(csr.row_nnz), np.asarray(csr.col_indices)
    live = {(row, int(col)) for row in range(csr.nrows) for col in cols[starts[row]:starts[row] + counts[row]]}
    assert {tuple(p) for p in mask.nonzero().tolist()} == live and int(mask.sum()) == model.sparse.nnz

    weight, mask = weight_and_mask(sources["dense"])
    assert mask is None and weight.data_ptr() == model.dense.weight.data_ptr() and not weight.requires_grad

    weight, mask = weight_and_mask(sources["pruned"])
    assert torch.equal(mask, model.pruned.weight_mask.bool())
    assert torch.equal(weight, model.pruned.weight_orig.detach() * model.pruned.weight_mask)
    assert weight[~mask].abs().sum() == 0 and weight[mask].abs().min() > 0

    weight, mask = weight_and_mask(sources["masked"])
    parametrization = model.masked.parametrizations.weight
    assert torch.equal(mask, (parametrization[0].mask != 0).expand(8, 4)) and int(mask.sum()) == 16
    assert torch.equal(weight, parametrization.original.detach() * mask)


def test_a_rigl_torch_layer_gives_its_weight_and_the_schedulers_mask():
    from rigl_torch.RigL import RigLScheduler

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(128, 3))
    scheduler = RigLScheduler(model, torch.optim.SGD(model.parameters(), lr=0.1), dense_allocation=0.3, T_end=20)
    sources = {s.info.name: s for s in LayerTracker(model).sources}
    assert sources["2"].info.mask_source == "rigl_torch"
    weight, mask = weight_and_mask(sources["2"])
    assert weight.shape == mask.shape == (8, 4, 3, 3)
    assert torch.equal(mask, scheduler.backward_masks[1].bool()) and int(mask.sum()) == 87
    assert torch.equal(weight, model[2].weight.detach() * mask) and weight[~mask].abs().sum() == 0


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_a_native_sparse_layer_gives_its_dense_form_and_its_stored_positions(layout):
    indices = torch.tensor([[0, 0, 1, 2, 3], [1, 4, 2, 0, 3]])
    values = torch.tensor([0.5, -0.25, 0.0, 1.5, 2.0])  # one explicit zero: stored, so in the mask
    coo = torch.sparse_coo_tensor(indices, values, (4, 6), check_invariants=True).coalesce()
    holder = nn.Module()
    holder.weight = nn.Parameter(coo if layout == "coo" else coo.to_sparse_csr(), requires_grad=False)
    (source,) = LayerTracker(nn.Sequential(holder)).sources
    weight, mask = weight_and_mask(source)
    assert torch.equal(weight, coo.to_dense())
    assert {tuple(p) for p in mask.nonzero().tolist()} == {(0, 1), (0, 4), (1, 2), (2, 0), (3, 3)}


class NoProfiler:
    """Stands in for the profiler in train(): the same training loop with nothing profiling it."""

    def step(self) -> None:
        pass


def trained_bytes(model, losses) -> dict[str, bytes]:
    """The exact bytes of everything training produced: each step's loss, every parameter and buffer (the
    SparseLinear's padded value storage among them) and the SparseLinear's CSR structure."""
    csr = model.sparse._csr
    return {"losses": torch.stack(losses).numpy().tobytes(),
            **{name: tensor.detach().cpu().numpy().tobytes() for name, tensor in model.state_dict().items()},
            **{f"csr.{part}": np.asarray(getattr(csr, part)).tobytes() for part in ("row_start", "row_nnz", "col_indices")}}


def test_a_failing_metric_warns_once_and_the_other_metrics_and_samples_go_on(tmp_path):
    model, algorithm = model_and_algorithm()
    calls, losses = [], []

    def flaky(name, weight, mask):  # fails on the second layer of the second sample
        calls.append(name)
        if len(calls) == 5:
            raise ValueError("no such statistic")
        return 1.0

    metrics = {
        "mean_abs_active": mean_abs_active,
        "flaky": flaky,
        "per_row": lambda name, weight, mask: weight.abs().sum(1),  # more than one element
        "label": lambda name, weight, mask: "large",  # not a number
        "flag": lambda name, weight, mask: mask is not None,  # a bool is not a number either
        "active": active,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profiler = profiler_for(tmp_path, metrics=metrics)
        with profiler:
            profiler.attach(model, algorithm=algorithm)
            expected = train(profiler, model, algorithm, losses=losses)
    ours = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    messages = [str(w.message) for w in ours]
    assert len(messages) == 4, messages  # one per failing metric, however many layers and samples
    for name, why in (("'flaky'", "raised ValueError: no such statistic"), ("'per_row'", "a float32 tensor of shape (24,)"),
                      ("'label'", "str 'large'"), ("'flag'", "bool True")):
        (message,) = [m for m in messages if name in m]
        layer = "dense" if name == "'flaky'" else "sparse"  # flaky failed on the second layer, the others on the first
        assert why in message and f"on layer '{layer}'" in message, message
    assert {w.filename for w in ours} == {__file__}  # each points at the training loop's call into the profiler
    assert not profiler._disabled

    samples = samples_of(profiler)
    assert [s["step"] for s in samples] == SAMPLE_STEPS
    by_step = metrics_by_step(samples)
    assert all(list(m) == ["mean_abs_active", "flaky", "active"] for m in by_step[0].values())
    for step in SAMPLE_STEPS[1:]:  # from the sample it failed in (on its second layer): left out of every layer
        assert all(list(m) == ["mean_abs_active", "active"] for m in by_step[step].values()), step
    for step, layers in by_step.items():
        for name, got in layers.items():
            assert got["mean_abs_active"] == pytest.approx(expected[step][name]["mean_abs_active"], rel=1e-6)
            assert got["active"] == expected[step][name]["active"]
    assert len(calls) == 5  # never called again

    # Training itself is untouched: the same seeds without the profiler give every loss and weight bit for bit.
    unprofiled, unprofiled_algorithm = model_and_algorithm()
    unprofiled_losses = []
    train(NoProfiler(), unprofiled, unprofiled_algorithm, losses=unprofiled_losses)
    assert len(losses) == STEPS and model.sparse.nnz == unprofiled.sparse.nnz
    assert trained_bytes(model, losses) == trained_bytes(unprofiled, unprofiled_losses)
    assert losses[-1] < losses[0]  # it really trained


def test_the_decorator_registers_before_and_after_attach_and_applies_from_the_next_sample(tmp_path):
    model, algorithm = model_and_algorithm()
    profiler = profiler_for(tmp_path)

    @profiler.metric("mean_abs_active")
    def decorated(name, weight, mask):
        return mean_abs_active(name, weight, mask)

    assert decorated.__name__ == "decorated"  # the decorator hands the function back
    with profiler:
        profiler.attach(model, algorithm=algorithm)

        def register_late(step):
            if step == 4:
                assert profiler.metric("active")(active) is active
                profiler.metric("mean_abs_active", lambda name, weight, mask: -1.0)  # replaces the first

        expected = train(profiler, model, algorithm, before_step=register_late)
    by_step = metrics_by_step(samples_of(profiler))
    for step in (0, 3):
        assert {name: m["mean_abs_active"] for name, m in by_step[step].items()} == pytest.approx(
            {name: e["mean_abs_active"] for name, e in expected[step].items()}, rel=1e-6)
        assert all("active" not in m for m in by_step[step].values())
    for step in (6, 9, 10):
        assert by_step[step] == {name: {"mean_abs_active": -1.0, "active": e["active"]} for name, e in expected[step].items()}


def test_nan_and_infinity_are_null_for_that_layer_only(tmp_path):
    model, algorithm = model_and_algorithm()
    odd = {"sparse": float("nan"), "dense": torch.tensor(float("inf")), "pruned": torch.tensor(-2.5, dtype=torch.float64)}
    profiler = profiler_for(tmp_path, metrics={"odd": lambda name, weight, mask: odd[name], "active": active})
    with profiler:
        profiler.attach(model, algorithm=algorithm)
        expected = train(profiler, model, algorithm)
    for step, layers in metrics_by_step(samples_of(profiler)).items():
        assert [m["odd"] for m in layers.values()] == [None, None, -2.5]
        assert [m["active"] for m in layers.values()] == [e["active"] for e in expected[step].values()]
    assert "NaN" not in profiler.log_path.read_text() and "Infinity" not in profiler.log_path.read_text()


def test_without_metrics_layer_samples_have_none(tmp_path):
    model, algorithm = model_and_algorithm()
    profiler = profiler_for(tmp_path, metrics={"broken": lambda name, weight, mask: 1 / 0})
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with profiler:
            profiler.attach(model, algorithm=algorithm)
            train(profiler, model, algorithm, steps=4)
    assert all("metrics" not in l for s in samples_of(profiler) for l in s["layers"])  # its only metric failed


def test_a_layer_whose_weight_cannot_be_read_is_left_out_with_one_warning(tmp_path, monkeypatch):
    from sparselab_profiler import plugin_metrics

    def failing_for_dense(source):
        if source.info.name == "dense":
            raise RuntimeError("storage went away")
        return weight_and_mask(source)

    monkeypatch.setattr(plugin_metrics, "weight_and_mask", failing_for_dense)
    model, algorithm = model_and_algorithm()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with profiler_for(tmp_path, metrics={"active": active}) as profiler:
            profiler.attach(model, algorithm=algorithm)
            expected = train(profiler, model, algorithm)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "layer 'dense'" in messages[0] and "storage went away" in messages[0]
    for step, layers in metrics_by_step(samples_of(profiler)).items():
        assert layers == {"sparse": {"active": expected[step]["sparse"]["active"]}, "dense": None,
                          "pruned": {"active": expected[step]["pruned"]["active"]}}


def test_metric_time_counts_in_the_samples_cost(tmp_path):
    model, algorithm = model_and_algorithm()

    def slow(name, weight, mask):
        time.sleep(0.02)
        return 0

    with profiler_for(tmp_path, metrics={"slow": slow}) as profiler:
        profiler.attach(model, algorithm=algorithm)
        train(profiler, model, algorithm, steps=3)
    assert all(s["cost_ms"] >= 3 * 20 for s in samples_of(profiler))  # three layers, 20 ms each


def test_registration_keeps_within_the_schemas_limits(tmp_path):
    fn = lambda name, weight, mask: 0.0  # noqa: E731
    full = {f"m{i:02d}": fn for i in range(MAX_METRICS)}
    profiler = profiler_for(tmp_path, metrics=full)
    with pytest.raises(ValueError, match=f"at most {MAX_METRICS} metrics"):
        profiler.metric("one_more")(fn)
    profiler.metric("m00", fn)  # replacing one is fine
    with pytest.raises(ValueError, match=f"at most {MAX_METRICS} metrics"):
        profiler_for(tmp_path, metrics={**full, "one_more": fn})
    for bad in ("", "x" * (MAX_SCALAR_NAME_CHARS + 1), 3):
        with pytest.raises(ValueError, match=f"1 to {MAX_SCALAR_NAME_CHARS} characters"):
            profiler_for(tmp_path).metric(bad)
    with pytest.raises(TypeError, match="must be a function"):
        profiler_for(tmp_path, metrics={"m": 0.5})
    with pytest.raises(TypeError, match="map names to functions"):
        profiler_for(tmp_path, metrics=[fn])

    # sixteen names of the longest length make a valid sample
    longest = {f"{'📏' * (MAX_SCALAR_NAME_CHARS - 2)}{i:02d}": fn for i in range(MAX_METRICS)}
    model, algorithm = model_and_algorithm()
    with profiler_for(tmp_path / "longest", metrics=longest) as profiler:
        profiler.attach(model, algorithm=algorithm)
    assert all(len(l["metrics"]) == MAX_METRICS for s in samples_of(profiler) for l in s["layers"])

    metrics = SCHEMA["$defs"]["LayerSample"]["properties"]["metrics"]
    assert metrics["maxProperties"] == records.MAX_METRICS == 16
    assert metrics["propertyNames"] == {"type": "string", "minLength": 1, "maxLength": records.MAX_SCALAR_NAME_CHARS}
    assert "metrics" not in SCHEMA["$defs"]["LayerSample"]["required"]


def test_pending_values_are_stacked_per_device_and_mapped_back_to_their_layer():
    table = {"a": {"x": 1.5, "y": 0.0}, "b": {"x": 0.0, "y": math.inf}}
    deferred = [("a", "y", torch.tensor(2.0)), ("b", "x", torch.tensor(float("nan"), dtype=torch.float16))]
    pending = PendingMetrics(table, deferred)
    assert pending.ready()
    assert pending.results() == {"a": {"x": 1.5, "y": 2.0}, "b": {"x": None, "y": None}}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_layers_results_come_back_with_one_copy(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 24), nn.ReLU(), nn.Linear(24, 4)).cuda()
    prune.l1_unstructured(model[2], "weight", amount=0.5)

    def sync_free_mean_abs(name, weight, mask):  # no boolean indexing: nothing here waits for the device
        return weight.abs().mean() if mask is None else (weight.abs() * mask).sum() / mask.sum()

    with profiler_for(tmp_path, metrics={"mean_abs_active": sync_free_mean_abs}) as profiler:
        profiler.attach(model)
        pending = profiler._pending
        assert pending is None or pending[2] is None or len(pending[2]._batches) == 1  # one stacked copy per device
    (sample,) = samples_of(profiler)
    got = {l["name"]: l["metrics"]["mean_abs_active"] for l in sample["layers"]}
    mask = model[2].weight_mask.bool()
    assert got == pytest.approx({"0": float(model[0].weight.abs().double().mean()),
                                 "2": float(model[2].weight_orig[mask].abs().double().mean())}, rel=1e-6)


def test_limits_are_declared_in_metric_records_at_attach_and_at_each_later_registration(tmp_path):
    model, algorithm = model_and_algorithm()
    profiler = profiler_for(tmp_path, metrics={"plain": active})
    profiler.metric("active", active, warn_below=1)
    with profiler:
        profiler.attach(model, algorithm=algorithm)

        def register_late(step):
            if step == 4:
                profiler.metric("active", active, warn_above=1e6)  # changes its limits: warn_below is cleared

        train(profiler, model, algorithm, before_step=register_late)
    declared = [r for r in read_log(profiler.log_path) if r["type"] == "metric"]
    assert [(r["step"], r["name"], r["warn_above"], r["warn_below"]) for r in declared] == [
        (0, "plain", None, None), (0, "active", None, 1.0), (3, "active", 1e6, None)]
    first_sample = next(r["seq"] for r in read_log(profiler.log_path) if r["type"] == "sample")
    assert declared[1]["seq"] < first_sample  # declared before the first sample that carries it

    for bad, message in (({"warn_above": float("nan")}, "warn_above must be a finite number or None, got nan"),
                         ({"warn_below": "low"}, "warn_below must be a finite number or None, got 'low'"),
                         ({"warn_above": 1, "warn_below": 2}, r"warn_below \(2\) must be less than warn_above \(1\)")):
        with pytest.raises(ValueError, match=f"metric 'm': {message}"):
            profiler_for(tmp_path).metric("m", active, **bad)
