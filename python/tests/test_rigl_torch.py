"""rigl-torch's RigLScheduler, found through its weight hooks, with counts from its own schedule."""

import math

import torch
import torch.nn.functional as F
from rigl_torch.RigL import RigLScheduler
from torch import nn

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback

DELTA, T_END, ALPHA = 4, 20, 0.3


def test_rigl_torch_scheduler_is_found_and_its_updates_are_exact(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = RigLScheduler(model, optimizer, dense_allocation=0.3, T_end=T_END, delta=DELTA, alpha=ALPHA)
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 3, (16,))

    # No algorithm argument: the scheduler is discovered from the IndexMaskHook on model[2].weight.
    profiler = SparsityProfilerCallback(every=5, logdir=tmp_path, server=None).attach(model)
    expected, planned = [], []
    for step in range(1, 25):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        before = scheduler.backward_masks[1].clone()
        updates = scheduler.step + 1 < T_END and (scheduler.step + 1) % DELTA == 0
        if updates:
            n_prune = int(int(before.sum()) * ALPHA / 2 * (1 + math.cos((scheduler.step + 1) * math.pi / T_END)))
            planned.append(n_prune)
        if scheduler():
            optimizer.step()
        if updates:  # exact: the positions that left and joined the mask across the update
            after = scheduler.backward_masks[1]
            expected += [(step, "2", "drop", int((before & ~after).sum())), (step, "2", "grow", int((~before & after).sum()))]
        profiler.step()
    profiler.close()

    records = read_log(profiler.log_path)
    run = records[0]
    assert run["algorithm"] == {"name": "RigLScheduler",
                                "params": {"dense_allocation": 0.3, "delta_T": DELTA, "alpha": ALPHA, "T_end": T_END}}
    assert [(l["name"], l["mask_source"]) for l in run["layers"]] == [
        ("0", "inferred_zeros"), ("2", "rigl_torch"), ("5", "inferred_zeros")]
    events = [r for r in records if r["type"] == "event" and r["exact"]]
    assert [(r["step"], r["layer"], r["op"], r["count"]) for r in events] == expected
    assert len(events) == 8  # rigl steps at 4, 8, 12, 16
    # rigl-torch's quota is what it asked for; it regrows some of what it dropped, so it over-counts
    assert [r["requested"] for r in events if r["op"] == "drop"] == planned
    assert sum(planned) > sum(count for (_, _, op, count) in expected if op == "drop")
    for event in events:  # rows say where, and add up to the count
        assert len(event["rows"]) == 8 and sum(event["rows"]) == event["count"]
    # 8*4*3*3 = 288 weights, int(0.7 * 288) = 201 masked at start; RigL keeps the count constant.
    conv = [next(l for l in r["layers"] if l["name"] == "2") for r in records if r["type"] == "sample"]
    assert {l["nnz"] for l in conv} == {87}
    assert conv[0]["bytes"] == 288 * 4 + 288 * 1 and conv[0]["dense_bytes"] == 288 * 4
