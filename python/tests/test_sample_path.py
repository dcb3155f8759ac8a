"""The host sample's fast path (measure.live_stats, cached live positions, version-skipped mask reads, the record
encoding) gives exactly what the plain path gives: value_stats bin for bin, the mask history's counts, the JSON."""

import gc
import json
import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback
from sparselab_profiler import measure
from sparselab_profiler.mask_history import MaskHistory
from sparselab_profiler.measure import live_stats
from sparselab_profiler.metrics import Workspace, value_stats
from sparselab_profiler.records import Histogram, LayerInfo, LayerSample, RunRecord, SampleRecord, gc_paused, to_json
from sparselab_profiler.sources import SparseLabLayerSource, TorchPruneSource
from sparselab_profiler.sources.base import LiveValues, TensorVersion, live_index


def reference(live: LiveValues, current, bins):
    values = live.values if live.index is None else live.values[live.index.long()]
    return value_stats(values, current, bins)


def same(got, expected) -> bool:
    return (got.hist.lo, got.hist.hi, got.hist.counts, got.nonfinite, got.nonzero, got.absmax) == \
        (expected.hist.lo, expected.hist.hi, expected.hist.counts, expected.nonfinite, expected.nonzero, expected.absmax)


def layer_values(rng: random.Random, n: int, kind: str) -> torch.Tensor:
    x = torch.randn(n, generator=torch.Generator().manual_seed(rng.randrange(1 << 30)))
    if kind == "zeros":
        x[torch.rand(n) < 0.7] = 0
        x[::7] = -0.0  # a negative zero is a zero too
    elif kind == "nan":
        x[rng.randrange(n)] = float("nan")
    elif kind == "inf":
        x[rng.randrange(n)] = float("-inf")
    elif kind == "edges":  # values on bin edges and on the range's ends
        x = (torch.randint(-64, 65, (n,)).float() / 64) * 1.25
    return x


@pytest.mark.parametrize("seed", range(6))
def test_live_stats_are_value_stats_bin_for_bin(seed):
    rng = random.Random(seed)
    workspace = Workspace()
    for _ in range(12):
        bins = rng.choice([1, 2, 7, 64, 255, 1024])
        lives, ranges = [], []
        for _ in range(rng.choice([1, 3, 40, 120])):
            n = rng.choice([1, 3, 100, 5000, 70_000, 200_000]) if rng.random() < 0.3 else rng.randint(1, 3000)
            kind = rng.choice(["plain", "zeros", "nan", "inf", "edges", "plain"])
            dtype = rng.choice([torch.float32, torch.float32, torch.float16, torch.bfloat16, torch.float64])
            stored = layer_values(rng, 2 * n, kind).to(dtype)
            how = rng.choice(["index", "dense", "known zeros"])
            if how == "index":
                index = torch.randperm(2 * n)[:n].sort().values  # int64: gathered by take; int32 by index_select
                live = LiveValues(stored, n, index if rng.random() < 0.5 else index.int())
            elif how == "dense" or kind in ("nan", "inf"):
                live = LiveValues(stored, 0)
            else:
                live = LiveValues(stored, 0, zeros=int((stored == 0).sum()))
            lives.append(live)
            ranges.append(rng.choice([None, None, (-0.5, 0.5), (-1.25, 1.25), (-100.0, 100.0)]))
        got = live_stats(lives, ranges, bins, workspace)
        for live, current, stats in zip(lives, ranges, got):
            assert same(stats, reference(live, current, bins))


def test_a_layer_spanning_blocks_and_layers_sharing_one(monkeypatch):
    monkeypatch.setattr(measure, "BLOCK_VALUES", 1000)  # a block holds parts of several layers, a layer several blocks
    torch.manual_seed(0)
    lives = [LiveValues(torch.randn(n), n) for n in (10, 999, 2500, 10, 10, 10, 3001)]
    ranges = [None, (-1.0, 1.0), (-9.0, 9.0), None, (-0.1, 0.1), (-5.0, 5.0), None]
    for stats, live, current in zip(live_stats(lives, ranges, 16), lives, ranges):
        assert same(stats, reference(live, current, 16))


def test_mostly_zeros_count_in_interleaved_lanes_all_the_same():
    weight = torch.zeros(300_000)
    weight[::97] = torch.linspace(-1, 1, len(weight[::97]))
    nnz = int(torch.count_nonzero(weight))
    (stats,) = live_stats([LiveValues(weight, nnz, zeros=weight.numel() - nnz)], [None], 64)
    assert same(stats, value_stats(weight, None, 64)) and sum(stats.hist.counts) == nnz


def test_live_index_lists_the_set_positions_row_major():
    mask = torch.tensor([[0, 1, 0], [1, 1, 0]], dtype=torch.float32).t()  # not contiguous
    assert live_index(mask).tolist() == [1, 2, 3] and live_index(mask).dtype == torch.int64


def test_a_tensor_version_follows_replacements_and_in_place_edits():
    mask = torch.ones(8)
    key = TensorVersion.of(mask)
    assert key == TensorVersion.of(mask) and key.matches(mask)
    with torch.no_grad():
        mask.view(2, 4)[0, 0] = 0  # an in-place edit through a view bumps the shared version counter
    assert key != TensorVersion.of(mask) and not key.matches(mask)
    other = torch.ones(8)
    assert TensorVersion.of(mask) != TensorVersion.of(other) and not TensorVersion.of(mask).matches(other)
    key, address = TensorVersion.of(other), id(other)
    del other  # a freed tensor matches nothing, whatever takes its place
    assert key != TensorVersion.of(torch.ones(8)) and key._ref() is None and address


def test_an_unchanged_prune_mask_is_read_once_and_its_live_positions_kept(monkeypatch):
    torch.manual_seed(0)
    layer = nn.Linear(16, 8)
    prune.random_unstructured(layer, "weight", amount=0.6)
    source = TorchPruneSource("fc", layer)
    reads = []
    read = TorchPruneSource.mask
    monkeypatch.setattr(TorchPruneSource, "mask", lambda self: reads.append(1) or read(self))
    first = source.live_values()
    again = source.live_values()
    assert len(reads) == 1 and again.index is first.index and first.nnz == 128 - 77
    with torch.no_grad():
        layer.weight_mask.view(-1)[first.index[:3].long()] = 0  # an in-place edit
    edited = source.live_values()
    assert len(reads) == 2 and edited.nnz == first.nnz - 3
    prune.random_unstructured(layer, "weight", amount=0.5)  # prune registers a new buffer
    prune.random_unstructured(layer, "weight", amount=0.5)  # twice between two samples
    pruned = source.live_values()
    assert len(reads) == 3 and pruned.nnz == int(layer.weight_mask.sum())
    assert torch.equal(pruned.values[pruned.index.long()], layer.weight_orig.detach().view(-1)[layer.weight_mask.view(-1) != 0])


def test_a_sparselab_layer_whose_csr_is_replaced_is_read_from_the_new_one():
    sparselab = pytest.importorskip("sparselab")
    torch.manual_seed(0)
    layer = sparselab.SparseLinear(32, 16, sparsity=0.8)
    source = SparseLabLayerSource("fc", layer)
    source.live_values()
    source.storage_bytes()  # the values tensor and the byte count are kept for this CSR
    layer.reset_parameters()  # a new PaddedCSR: new arrays, a new random mask
    csr = layer._csr
    live = np.asarray(csr.col_indices) != -1  # a padding slot's column is -1
    got = source.live_values()
    assert got.nnz == int(live.sum())
    assert np.array_equal(got.values[got.index.long()].numpy(), np.asarray(csr.values)[live])
    capacity = int(csr.total_capacity)
    assert source.storage_bytes() == capacity * 4 + capacity * 4 + 3 * 16 * 4  # float32 values, int32 columns, 3 row arrays


def test_an_unhooked_mask_with_an_unchanged_version_is_not_read_but_counted_as_unchanged():
    history = MaskHistory()
    mask = torch.tensor([1, 0, 1, 1, 0, 0, 1, 0], dtype=torch.bool)
    reads = []

    def read():
        reads.append(1)
        return mask

    history.observe("a", read, hooked=False, explored=True, regrowth=True, version="v1")
    again = history.observe("a", read, hooked=False, explored=True, regrowth=True, version="v1")
    assert len(reads) == 1
    assert (again.mask, again.dropped, again.grown, again.changed, again.active_ever, again.regrown) == (None, 0, 0, 0, 4, None)
    mask[1] = True
    moved = history.observe("a", read, hooked=False, explored=True, regrowth=True, version="v2")
    assert len(reads) == 2 and (moved.dropped, moved.grown, moved.active_ever) == (0, 1, 5)
    still = history.observe("a", read, hooked=False, explored=True, regrowth=True, version="v2")
    assert (still.regrown, still.dropped, still.grown) == (0, 0, 0)  # the previous diff dropped nothing


def test_a_pruned_model_profiled_through_moves_and_reprunes_gives_the_plain_paths_records(tmp_path):
    def run(logdir, measure_on_device):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(12, 20), nn.ReLU(), nn.Linear(20, 6))
        prune.l1_unstructured(model[0], "weight", amount=0.5)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        x, y = torch.randn(8, 12), torch.randint(0, 6, (8,))
        with SparsityProfilerCallback(every=2, logdir=logdir, server=None, overhead_budget=None,
                                      measure_on_device=measure_on_device) as profiler:
            profiler.attach(model)
            for step in range(12):
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(x), y).backward()
                optimizer.step()
                with torch.no_grad():
                    if step == 3:
                        model[0].weight_mask.view(-1)[:10] = 1 - model[0].weight_mask.view(-1)[:10]
                    if step == 7:
                        model[2].weight.view(-1)[:5] = 0  # a dense layer's weights leave zero: inferred drops
                if step == 8:
                    prune.l1_unstructured(model[0], "weight", amount=0.5)
                    prune.l1_unstructured(model[0], "weight", amount=0.2)
                profiler.step()
        return [{k: v for k, v in r.items() if k not in ("time", "cost_ms", "step_ms", "run", "started")}
                for r in read_log(profiler.log_path)]

    host, device = run(tmp_path / "host", None), run(tmp_path / "device", True)  # the device path: plain value_stats
    assert host == device
    drops = [(r["step"], r["layer"], r["count"]) for r in host if r["type"] == "event" and r["op"] == "drop"]
    assert {step for step, _, _ in drops} >= {4, 8, 10}


def test_gc_is_paused_inside_and_left_as_the_program_had_it():
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with gc_paused():
            assert not gc.isenabled()
            raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # the program's choice stands
    finally:
        gc.enable()


def _plain_before(value):
    """records._plain as it was before leaves and lists of leaves were passed through."""
    from sparselab_profiler.records import _ABSENT_WHEN_NONE

    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain_before(v) for k, v in vars(value).items() if v is not None or k not in _ABSENT_WHEN_NONE}
    if isinstance(value, list):
        return [_plain_before(v) for v in value]
    return value


def test_the_record_encoding_is_the_same_json():
    layers = [LayerSample(name=f"l{i}", nnz=5, numel=10, sparsity=0.5, bytes=40, dense_bytes=40,
                          hist=Histogram(-1.0, 1.0, [1, 2, 2]), nonfinite=0, metrics={"m": None, "n": 1.5} if i else None,
                          active_ever=None if i else 7, mask_changed=0, absmax=0.75, capacity=None) for i in range(3)]
    sample = SampleRecord(run="r", seq=3, step=10, time=1.5, layers=layers, cost_ms=0.25, step_ms=None, scalars={"loss": 0.5})
    run = RunRecord(run="r", name="n", started=1.0, algorithm=None, sampler={"every": 10, "budget": 0.01},
                    layers=[LayerInfo("l0", [2, 5], 10, "float32", "dense", "inferred_zeros", aliases=["a", "b"])])
    for record in (sample, run):
        assert to_json(record) == json.dumps(_plain_before(record), separators=(",", ":"), allow_nan=False)


def test_the_run_log_measures_its_writes(tmp_path):
    profiler = SparsityProfilerCallback(every=1, logdir=tmp_path, server=None).attach(nn.Sequential(nn.Linear(4, 4)))
    before = profiler._recorder.write_ms
    profiler.step()
    assert profiler._recorder.write_ms > before > 0
    profiler.close()


def test_numpy_and_torch_bin_alike():
    """The block arithmetic runs in numpy, value_stats' in torch: one IEEE rounding each, the same results."""
    rng = np.random.default_rng(0)
    for dtype, np_dtype in ((torch.float32, np.float32), (torch.float64, np.float64)):
        values = torch.from_numpy(rng.standard_normal(100_000).astype(np_dtype))
        for lo in (-0.3, -1.2345678901, -7.77):
            scale = 64 / (-2 * lo)
            expected = torch.sub(values, lo).mul_(scale)
            got = np.multiply(np.subtract(values.numpy(), np_dtype(lo)), np_dtype(scale))
            assert torch.equal(expected, torch.from_numpy(got)) and expected.dtype == dtype
