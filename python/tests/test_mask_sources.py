"""Each mask source: exact nnz and bytes against an independent count, and inferred drop/grow from mask diffs."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.ao.pruning import WeightNormSparsifier
from torch.nn.utils import prune

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback


def profile(model: nn.Module, tmp_path, steps=0, between=None) -> list[dict]:
    with SparsityProfilerCallback(every=1, logdir=tmp_path, server=None, overhead_budget=None) as profiler:
        profiler.attach(model)
        for _ in range(steps):
            if between:
                between()
            profiler.step()
    return read_log(profiler.log_path)


def layer(records: list[dict], name: str, sample_index: int = 0) -> dict:
    samples = [r for r in records if r["type"] == "sample"]
    return next(l for l in samples[sample_index]["layers"] if l["name"] == name)


def test_torch_prune_counts_the_mask_and_shows_the_extra_memory(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 10))
    prune.l1_unstructured(model[0], "weight", amount=0.6)  # prunes round(0.6 * 200) = 120 weights
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    model(torch.randn(4, 20)).sum().backward()
    optimizer.step()  # weight_orig moves; module.weight is now stale until the next forward

    records = profile(model, tmp_path)
    info = records[0]["layers"][0]
    assert (info["format"], info["mask_source"]) == ("dense_masked", "torch_prune")
    fc = layer(records, "0")
    assert fc["nnz"] == 80 and fc["sparsity"] == 0.6
    assert fc["bytes"] == 3 * 800 and fc["dense_bytes"] == 800  # weight_orig + weight_mask + recomputed weight
    effective = (model[0].weight_orig * model[0].weight_mask).detach().numpy().ravel()
    reference, _ = np.histogram(effective[effective != 0], bins=64, range=(fc["hist"]["lo"], fc["hist"]["hi"]))
    assert fc["hist"]["counts"] == reference.tolist()


def test_torch_prune_iterations_become_inferred_drop_events(tmp_path):
    model = nn.Sequential(nn.Linear(20, 10))
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    # A second call prunes 50% of the 100 remaining weights: 50 more zeros, a new mask buffer.
    records = profile(model, tmp_path, steps=1, between=lambda: prune.l1_unstructured(model[0], "weight", amount=0.5))
    assert [layer(records, "0", i)["nnz"] for i in (0, 1)] == [100, 50]
    events = [(r["op"], r["count"], r["exact"], r["algorithm"]) for r in records if r["type"] == "event"]
    assert events == [("drop", 50, False, "torch_prune"), ("grow", 0, False, "torch_prune")]


def test_ao_pruning_parametrization_never_counts_the_dense_original(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 8))
    sparsifier = WeightNormSparsifier(sparsity_level=0.5, sparse_block_shape=(1, 4), zeros_per_block=4)
    sparsifier.prepare(model, config=[{"tensor_fqn": "0.weight"}])
    sparsifier.step()
    records = profile(model, tmp_path)
    info = records[0]["layers"][0]
    assert (info["format"], info["mask_source"]) == ("dense_masked", "parametrization")
    fc = layer(records, "0")
    original = model[0].parametrizations.weight.original
    assert int(torch.count_nonzero(original)) == 128  # the original stays fully dense
    assert fc["nnz"] == 64 and fc["sparsity"] == 0.5
    mask = model[0].parametrizations.weight[0].mask
    assert fc["bytes"] == 128 * 4 + mask.numel() * mask.element_size()


class SparseWeight(nn.Module):
    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_native_sparse_tensors_count_stored_entries(tmp_path, layout):
    indices = torch.tensor([[0, 0, 1, 2, 3], [1, 4, 2, 0, 3]])
    values = torch.tensor([0.5, -0.25, 0.0, 1.5, 2.0])  # one explicit zero: stored, so it costs memory
    coo = torch.sparse_coo_tensor(indices, values, (4, 6), check_invariants=True).coalesce()
    weight = coo if layout == "coo" else coo.to_sparse_csr()
    records = profile(nn.Sequential(SparseWeight(weight)), tmp_path)
    info = records[0]["layers"][0]
    assert (info["format"], info["mask_source"]) == (layout, "native_sparse")
    fc = layer(records, "0")
    assert fc["nnz"] == 5 and fc["numel"] == 24
    assert sum(fc["hist"]["counts"]) == 4  # the explicit zero is stored but not a non-zero value
    index_bytes = 2 * 5 * 8 if layout == "coo" else (4 + 1) * 8 + 5 * 8
    assert fc["bytes"] == index_bytes + 5 * 4 and fc["dense_bytes"] == 24 * 4


class HeldWeight(nn.Module):
    """A weight kept where `how` says: each place nn.Module (or its subclass) can keep `module.weight`."""

    def __init__(self, weight: torch.Tensor, how: str):
        super().__init__()
        if how == "parameter":
            self.weight = nn.Parameter(weight, requires_grad=False)
        elif how == "buffer":
            self.register_buffer("weight", weight)
        elif how == "attribute":
            self.weight = weight  # a plain tensor: kept in the instance dict
        else:
            self.register_buffer("stored", weight)

    @property
    def held(self) -> torch.Tensor:
        return self.stored


class PropertyWeight(HeldWeight):
    weight = HeldWeight.held


@pytest.mark.parametrize("how", ["parameter", "buffer", "attribute", "property"])
def test_a_weight_is_found_wherever_the_module_keeps_it(tmp_path, how):
    indices = torch.tensor([[0, 1, 2], [2, 0, 1]])
    weight = torch.sparse_coo_tensor(indices, torch.tensor([1.0, -2.0, 3.0]), (3, 3)).coalesce()
    module = PropertyWeight(weight, how) if how == "property" else HeldWeight(weight, how)
    records = profile(nn.Sequential(module, nn.ReLU()), tmp_path)  # ReLU has no weight: not a layer
    assert [l["name"] for l in records[0]["layers"]] == ["0"]
    fc = layer(records, "0")
    assert (fc["nnz"], fc["numel"]) == (3, 9) and sum(fc["hist"]["counts"]) == 3


@pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.get_device_capability() < (8, 0),
                    reason="torch builds 2:4 semi-structured tensors on CUDA (compute capability 8.0+) only")
def test_semi_structured_2_4_weights_keep_half_and_count_their_packed_storage(tmp_path):
    from torch.sparse import to_sparse_semi_structured

    dense = torch.randn(128, 64, dtype=torch.float16, device="cuda")
    dense.view(-1, 4)[:, 1::2] = 0  # keep entries 0 and 2 of every group of four
    dense[0, 0] = 0  # a kept entry that holds zero: stored, so counted, but not a non-zero value
    weight = to_sparse_semi_structured(dense)
    records = profile(nn.Sequential(SparseWeight(weight)), tmp_path)
    assert (records[0]["layers"][0]["format"], records[0]["layers"][0]["mask_source"]) == ("semi_structured_2_4", "native_sparse")
    fc = layer(records, "0")
    assert fc["nnz"] == 128 * 64 // 2 and fc["sparsity"] == 0.5
    assert sum(fc["hist"]["counts"]) == int(torch.count_nonzero(dense))
    stored = [t for t in (weight.packed, weight.meta, weight.packed_t, weight.meta_t, weight.compressed_swizzled_bitmask) if t is not None]
    assert fc["bytes"] == sum(t.numel() * t.element_size() for t in stored) and fc["dense_bytes"] == 128 * 64 * 2


def test_dense_weights_that_leave_zero_are_inferred_grows(tmp_path):
    model = nn.Sequential(nn.Linear(8, 4))
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].weight[0, :3] = 1.0

    def regrow_and_drop():
        with torch.no_grad():
            model[0].weight[1, :5] = 0.5  # 5 grow
            model[0].weight[0, 0] = 0.0   # 1 drop

    records = profile(model, tmp_path, steps=1, between=regrow_and_drop)
    events = [(r["op"], r["count"], r["exact"], r["algorithm"]) for r in records if r["type"] == "event"]
    assert events == [("drop", 1, False, "inferred_zeros"), ("grow", 5, False, "inferred_zeros")]
