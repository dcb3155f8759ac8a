"""The accelerator path (device-side counts, one packed copy, samples written one sample late) gives the
very records of the host path. Run here on CPU tensors with measure_on_device=True; on a CUDA machine
the same code runs on the GPU."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback


def model_with_every_mask_source() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 4))
    prune.l1_unstructured(model[2], "weight", amount=0.7)
    with torch.no_grad():
        model[0].weight[:, ::2] = 0
        model[4].weight[0, 0] = float("nan")
    return model


def profile(tmp_path, on_device: bool | None, device: str = "cpu") -> list[dict]:
    model = model_with_every_mask_source().to(device)
    optimizer = torch.optim.SGD([p for n, p in model.named_parameters() if not n.startswith("4.")], lr=0.2)
    torch.manual_seed(1)
    x, y = torch.randn(16, 32).to(device), torch.randint(0, 4, (16,)).to(device)
    with SparsityProfilerCallback(every=2, logdir=tmp_path, server=None, overhead_budget=None,
                                  measure_on_device=on_device) as profiler:
        profiler.attach(model)
        for step in range(6):
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
            if step == 3:
                prune.l1_unstructured(model[2], "weight", amount=0.5)  # an inferred drop of half the rest
            profiler.step()
    return read_log(profiler.log_path)


def comparable(records: list[dict]) -> list[dict]:
    out = []
    for r in records:
        r = {k: v for k, v in r.items() if k not in ("time", "cost_ms", "step_ms", "run", "started")}
        out.append(r)
    return out


def test_device_path_writes_the_records_of_the_host_path(tmp_path):
    host = profile(tmp_path / "host", on_device=False)
    device = profile(tmp_path / "device", on_device=True)
    assert comparable(device) == comparable(host)
    samples = [r for r in host if r["type"] == "sample"]
    assert [s["step"] for s in samples] == [0, 2, 4, 6]
    assert samples[-1]["layers"][2]["nonfinite"] == 1
    drops = [(r["step"], r["layer"], r["count"]) for r in host if r["type"] == "event" and r["op"] == "drop"]
    assert (4, "2", round(0.3 * 64 * 48 * 0.5)) in drops



@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_a_gpu_the_device_path_writes_the_records_of_the_host_path(tmp_path):
    torch.use_deterministic_algorithms(True, warn_only=True)  # both runs train the very same weights
    try:
        host = profile(tmp_path / "host", on_device=False, device="cuda")
        device = profile(tmp_path / "device", on_device=None, device="cuda")  # None: CUDA weights go the device way
    finally:
        torch.use_deterministic_algorithms(False)
    assert comparable(device) == comparable(host)
    assert [r["step"] for r in device if r["type"] == "sample"] == [0, 2, 4, 6]
