"""Per-layer nnz, bytes and drop/grow events checked against SparseLab's own fields and an independent diff."""

from collections import OrderedDict

import numpy as np
import pytest
import sparselab
import torch
import torch.nn.functional as F
from torch import nn

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback
from sparselab_profiler.mask_history import pack_positions, row_counts

UPDATE_FREQ = 4
EVERY = 3
STEPS = 20


def csr_bytes(csr) -> int:
    # values (float32) and col_indices (int32) over every slot, row_start/row_nnz/row_capacity per row.
    return csr.total_capacity * (4 + 4) + len(np.asarray(csr.row_start)) * 4 + csr.nrows * (4 + 4)


def topology(layer) -> set[tuple[int, int]]:
    csr = layer._csr
    starts, counts, cols = np.asarray(csr.row_start), np.asarray(csr.row_nnz), np.asarray(csr.col_indices)
    return {(row, int(c)) for row in range(csr.nrows) for c in cols[starts[row]:starts[row] + counts[row]]}


@pytest.mark.parametrize("algorithm_class", [sparselab.SET, sparselab.RigL], ids=["SET", "RigL"])
def test_metrics_and_events_match_sparselab(tmp_path, algorithm_class):
    torch.manual_seed(0)
    layers = OrderedDict(fc1=sparselab.SparseLinear(32, 48, sparsity=0.8), act=nn.ReLU(),
                         fc2=sparselab.SparseLinear(48, 10, sparsity=0.7))
    model = nn.Sequential(layers)
    algorithm = algorithm_class(sparsity=0.8, drop_fraction=0.3, update_freq=UPDATE_FREQ, seed=0)
    model.apply(algorithm)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = torch.randn(64, 32), torch.randint(0, 10, (64,))
    sparse = {name: layers[name] for name in ("fc1", "fc2")}

    profiler = SparsityProfilerCallback(every=EVERY, logdir=tmp_path, server=None, overhead_budget=None).attach(
        model, algorithm=algorithm)
    expected_samples = {0: {n: (l.nnz, csr_bytes(l._csr)) for n, l in sparse.items()}}
    expected_events = []
    for step in range(1, STEPS + 1):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        before = {n: topology(l) for n, l in sparse.items()}
        algorithm.step()
        if step % UPDATE_FREQ == 0:
            for name, layer in sparse.items():
                after = topology(layer)
                dropped, grown = before[name] - after, after - before[name]
                rows = lambda positions: [sum(1 for r, _ in positions if r == row) for row in range(layer.out_features)]  # noqa: E731
                expected_events.append((step, name, "drop", len(dropped), rows(dropped)))
                expected_events.append((step, name, "grow", len(grown), rows(grown)))
        profiler.step()
        if step % EVERY == 0:
            expected_samples[step] = {n: (l.nnz, csr_bytes(l._csr)) for n, l in sparse.items()}
    expected_samples[STEPS] = {n: (l.nnz, csr_bytes(l._csr)) for n, l in sparse.items()}  # close() samples the last step
    profiler.close()

    records = read_log(profiler.log_path)
    samples = {r["step"]: {l["name"]: (l["nnz"], l["bytes"]) for l in r["layers"] if l["name"] in sparse}
               for r in records if r["type"] == "sample"}
    assert samples == expected_samples
    events = [(r["step"], r["layer"], r["op"], r["count"], r["rows"]) for r in records if r["type"] == "event"]
    assert events == expected_events  # counts, and where: per output row
    assert sum(e[3] for e in expected_events if e[2] == "drop") > 0, "the run must actually rewire"
    assert all(r["exact"] and r["algorithm"] == algorithm_class.__name__ for r in records if r["type"] == "event")

    sample = next(r for r in records if r["type"] == "sample")
    fc1 = next(l for l in sample["layers"] if l["name"] == "fc1")
    assert fc1["numel"] == 48 * 32 and fc1["dense_bytes"] == 48 * 32 * 4
    assert fc1["sparsity"] == pytest.approx(1 - fc1["nnz"] / fc1["numel"])


def test_histogram_holds_the_live_non_zero_values(tmp_path):
    torch.manual_seed(1)
    layer = sparselab.SparseLinear(20, 30, sparsity=0.9)
    csr = layer._csr
    starts, counts, values = np.asarray(csr.row_start), np.asarray(csr.row_nnz), np.asarray(csr.values)
    live = np.concatenate([values[s:s + n] for s, n in zip(starts, counts)])
    profiler = SparsityProfilerCallback(logdir=tmp_path, server=None, bins=16).attach(nn.Sequential(layer))
    profiler.close()
    hist = next(r for r in read_log(profiler.log_path) if r["type"] == "sample")["layers"][0]["hist"]
    reference, _ = np.histogram(live[live != 0], bins=16, range=(hist["lo"], hist["hi"]))
    assert hist["counts"] == reference.tolist()
    assert sum(hist["counts"]) == np.count_nonzero(live) == layer.nnz


def test_static_sparsity_never_rewires(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(sparselab.SparseLinear(32, 16, sparsity=0.9))
    static = sparselab.Static(sparsity=0.9)
    model.apply(static)
    nnz = model[0].nnz
    with SparsityProfilerCallback(every=2, logdir=tmp_path, server=None, overhead_budget=None) as profiler:
        profiler.attach(model, algorithm=static)
        for _ in range(6):
            static.step()
            profiler.step()
    records = read_log(profiler.log_path)
    assert records[0]["algorithm"] == {"name": "Static", "params": {"sparsity": 0.9}}
    assert [r["layers"][0]["nnz"] for r in records if r["type"] == "sample"] == [nnz] * 4
    assert not [r for r in records if r["type"] == "event"]


@pytest.mark.parametrize("shape", [(3, 64), (5, 128), (4, 100), (7, 1), (2, 192)])
def test_row_counts_of_packed_bits_are_each_rows_set_entries(shape):
    mask = torch.rand(shape, generator=torch.Generator().manual_seed(sum(shape))) < 0.3
    bits = pack_positions(np.flatnonzero(mask.numpy()), mask.numel())
    assert row_counts(bits, *shape) == [int(row.sum()) for row in mask]
