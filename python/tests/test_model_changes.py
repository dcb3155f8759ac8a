"""The profiler follows the model: pruning removed or applied after attach, parametrizations squashed, a new
dtype, modules added or removed, tied weights, torch.compile. Every expected value is counted here from the
model's own tensors at the step of each sample."""

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.ao.pruning import WeightNormSparsifier
from torch.nn.utils import prune

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback
from wire_schema import validate_record

EVERY = 2


def fc_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 4))


def train(model: nn.Module, profiler, steps: int, expect, expected: list) -> None:
    """SGD steps; after each sampled step, appends `expect()` (the truth at that sample) to `expected`."""
    device = next(model.parameters()).device
    x, y = torch.randn(32, 128).to(device), torch.randint(0, 4, (32,)).to(device)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        profiler.step()
        if profiler._step % EVERY == 0:
            expected.append(expect())


def open_profiler(model: nn.Module, tmp_path, **options) -> SparsityProfilerCallback:
    return SparsityProfilerCallback(every=EVERY, logdir=tmp_path, server=None, overhead_budget=None, **options).attach(model)


def first_layer(records: list[dict], name: str = "0") -> list[dict]:
    return [next(l for l in r["layers"] if l["name"] == name) for r in records if r["type"] == "sample"]


def layer_records(records: list[dict]) -> list[tuple]:
    return [(r["step"], r["layer"], r["info"] and (r["info"]["format"], r["info"]["mask_source"], r["info"]["dtype"]))
            for r in records if r["type"] == "layer"]


def hist_total(weights: torch.Tensor) -> int:
    """What a histogram of non-zero finite values must hold, counted here."""
    return int(torch.count_nonzero(weights[torch.isfinite(weights)]))


def dense_truth(fc: nn.Linear):
    """(nnz, bytes, histogram total) of a plain dense weight, counted from the weight itself."""
    return lambda: (int(torch.count_nonzero(fc.weight)), fc.weight.numel() * fc.weight.element_size(), hist_total(fc.weight.detach()))


def finished_run(profiler) -> tuple[list[dict], list[tuple]]:
    """The closed run's records (checked valid) and layer "0"'s (nnz, bytes, histogram total) per sample."""
    records = read_log(profiler.log_path)
    check_valid(records)
    return records, [(l["nnz"], l["bytes"], sum(l["hist"]["counts"])) for l in first_layer(records)]


def check_valid(records: list[dict]) -> None:
    assert [r["seq"] for r in records] == list(range(len(records)))
    for record in records:
        validate_record(record)
    assert records[-1]["type"] == "end" and records[-1]["status"] == "finished"


def test_prune_remove_turns_the_layer_into_its_dense_weight_and_profiling_goes_on(tmp_path):
    model = fc_model()
    prune.l1_unstructured(model[0], "weight", amount=0.75)  # round(0.75 * 8192) = 6144 pruned
    fc = model[0]
    masked = lambda: (int(fc.weight_mask.sum()), 3 * 8192 * 4, hist_total(fc.weight_orig * fc.weight_mask))  # noqa: E731
    expected = [masked()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "disabled itself"
        profiler = open_profiler(model, tmp_path)
        train(model, profiler, 4, masked, expected)
        prune.remove(fc, "weight")  # the documented last step of torch pruning
        dense = dense_truth(fc)
        train(model, profiler, 4, dense, expected)
        profiler.close()
    records, measured = finished_run(profiler)
    assert measured == expected
    assert measured[0] == (2048, 98_304, 2048) and measured[3][1] == 32_768
    assert measured[4][0] > 2048  # the removed mask no longer holds the zeros: SGD fills them in
    assert layer_records(records) == [(6, "0", ("dense", "inferred_zeros", "float32"))]
    change = next(r for r in records if r["type"] == "layer")
    assert change["reason"] == "mask_source torch_prune → inferred_zeros, format dense_masked → dense"
    order = [(r["type"], r.get("step")) for r in records]
    assert order.index(("layer", 6)) + 1 == order.index(("sample", 6))  # recorded before the sample it affects


def test_pruning_applied_after_attach_is_read_from_orig_and_mask(tmp_path):
    model = fc_model()
    fc = model[0]
    dense = dense_truth(fc)
    expected = [dense()]
    profiler = open_profiler(model, tmp_path)
    train(model, profiler, 3, dense, expected)
    prune.l1_unstructured(fc, "weight", amount=0.9)  # between two samples, mid-training
    effective = lambda: (int(fc.weight_mask.sum()), 98_304, hist_total(fc.weight_orig * fc.weight_mask))  # noqa: E731
    train(model, profiler, 5, effective, expected)
    profiler.close()
    records, measured = finished_run(profiler)
    assert measured == expected
    assert measured[2] == (819, 98_304, 819)  # 8192 - round(0.9 * 8192) kept, orig + mask + recomputed weight
    assert layer_records(records) == [(4, "0", ("dense_masked", "torch_prune", "float32"))]
    # drop/grow inferred from the new mask only: no diff against the zeros of the dense weight before it
    assert not [r for r in records if r["type"] == "event" and r["step"] == 4]


def test_ao_squash_mask_leaves_a_plain_weight_that_is_still_profiled(tmp_path):
    model = fc_model()
    sparsifier = WeightNormSparsifier(sparsity_level=0.8, sparse_block_shape=(1, 4), zeros_per_block=4)
    sparsifier.prepare(model, config=[{"tensor_fqn": "0.weight"}])
    sparsifier.step()
    fc = model[0]
    original = lambda: fc.parametrizations.weight.original  # noqa: E731
    mask = lambda: fc.parametrizations.weight[0].mask  # noqa: E731
    masked = lambda: (int(mask().sum()), 8192 * 4 + mask().numel() * mask().element_size(),  # noqa: E731
                      hist_total(original() * mask()))
    expected = [masked()]
    profiler = open_profiler(model, tmp_path)
    train(model, profiler, 2, masked, expected)
    sparsifier.squash_mask()
    dense = dense_truth(fc)
    train(model, profiler, 4, dense, expected)
    profiler.close()
    records, measured = finished_run(profiler)
    assert measured == expected
    assert measured[0][0] == 8192 - 4 * int(0.8 * 2048)  # 80% of the 2048 1x4 blocks zeroed
    assert layer_records(records) == [(4, "0", ("dense", "inferred_zeros", "float32"))]


def test_a_new_dtype_is_recorded_and_measured(tmp_path):
    model = fc_model()
    profiler = open_profiler(model, tmp_path)
    model.to(torch.bfloat16)
    profiler.step()
    profiler.step()
    profiler.close()
    records = read_log(profiler.log_path)
    check_valid(records)
    assert layer_records(records) == [(2, "0", ("dense", "inferred_zeros", "bfloat16")),
                                      (2, "2", ("dense", "inferred_zeros", "bfloat16"))]
    after = first_layer(records)[1]
    assert after["bytes"] == 8192 * 2 and after["nnz"] == int(torch.count_nonzero(model[0].weight))


def test_modules_added_and_removed_join_and_leave_the_run(tmp_path):
    model = fc_model()
    profiler = open_profiler(model, tmp_path)
    model.append(nn.Linear(4, 3))  # "3"
    del model[2]  # the old "2" leaves; the new Linear is renumbered "2"
    profiler.step()
    profiler.step()
    profiler.close()
    records = read_log(profiler.log_path)
    check_valid(records)
    changes = [(r["layer"], r["info"] and r["info"]["shape"], r["reason"]) for r in records if r["type"] == "layer"]
    assert changes == [("2", [3, 4], "shape [4, 64] → [3, 4]")]
    model2 = fc_model()
    profiler = open_profiler(model2, tmp_path)
    del model2[2]
    profiler.step()
    profiler.step()
    profiler.close()
    records = read_log(profiler.log_path)
    check_valid(records)
    assert [(r["layer"], r["info"], r["reason"]) for r in records if r["type"] == "layer"] == [("2", None, "left the model")]
    assert [l["name"] for l in [r for r in records if r["type"] == "sample"][-1]["layers"]] == ["0"]


def test_tied_weights_are_one_layer_with_aliases(tmp_path):
    torch.manual_seed(0)

    class TiedAutoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(100, 32)
            self.encoder = nn.Linear(32, 100, bias=False)
            self.decoder = nn.Linear(32, 100, bias=False)
            self.decoder.weight = self.encoder.weight  # one Parameter, two modules
            self.head = nn.Linear(100, 10)

    model = TiedAutoencoder()
    with SparsityProfilerCallback(logdir=tmp_path, server=None) as profiler:
        profiler.attach(model)
    records = read_log(profiler.log_path)
    assert [(l["name"], l["aliases"]) for l in records[0]["layers"]] == [("encoder", ["decoder"]), ("head", [])]
    distinct = {id(p): p for m in (model.encoder, model.decoder, model.head) for p in [m.weight]}
    expected_bytes = sum(p.numel() * p.element_size() for p in distinct.values())
    assert sum(l["bytes"] for l in records[1]["layers"]) == expected_bytes == (3200 + 1000) * 4


def test_torch_compile_names_layers_and_the_run_after_the_model(tmp_path):
    model = fc_model()
    compiled = torch.compile(model)
    with SparsityProfilerCallback(logdir=tmp_path, server=None) as profiler:
        profiler.attach(compiled)
    run = read_log(profiler.log_path)[0]
    assert run["name"] == "Sequential"
    assert [l["name"] for l in run["layers"]] == ["0", "2"]


def test_an_unchanged_model_writes_no_layer_record(tmp_path):
    model = fc_model()
    profiler = open_profiler(model, tmp_path)
    expected: list = []
    train(model, profiler, 6, lambda: None, expected)
    profiler.close()
    assert layer_records(read_log(profiler.log_path)) == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_moved_to_the_gpu_mid_run_is_measured_there(tmp_path):
    model = fc_model()
    fc = model[0]
    nonzero = lambda: int(torch.count_nonzero(fc.weight))  # noqa: E731
    expected = [nonzero()]
    profiler = open_profiler(model, tmp_path)
    train(model, profiler, 2, nonzero, expected)
    model.to("cuda")
    train(model, profiler, 4, nonzero, expected)
    profiler.close()
    records = read_log(profiler.log_path)
    check_valid(records)
    assert [(r["step"], r["layer"], r["info"]["device"]) for r in records if r["type"] == "layer"] == [
        (4, "0", "cuda:0"), (4, "2", "cuda:0")]
    assert [l["nnz"] for l in first_layer(records)] == expected
