"""Two gloo processes on CPU: DDP (replicated) and FSDP2 (DTensor shards) give the one-process numbers."""

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback

WORLD = 2


def build() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))
    with torch.no_grad():
        model[0].weight[:, ::3] = 0
        model[2].weight[::2] = 0
    return model


def train_and_profile(model: nn.Module, logdir: Path) -> Path:
    profiler = SparsityProfilerCallback(every=1, logdir=logdir, server=None, overhead_budget=None).attach(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.manual_seed(1)
    x, y = torch.randn(8, 16), torch.randint(0, 8, (8,))  # the same batch on every rank
    for _ in range(2):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        profiler.step()
    profiler.close()
    return profiler.log_path


def worker(rank: int, port: int, mode: str, logdir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        model = build()
        if mode == "ddp":
            model = nn.parallel.DistributedDataParallel(model)
        else:
            from torch.distributed.device_mesh import init_device_mesh
            from torch.distributed.fsdp import fully_shard

            mesh = init_device_mesh("cpu", (WORLD,))
            for layer in (model[0], model[2]):
                fully_shard(layer, mesh=mesh)
            fully_shard(model, mesh=mesh)
            assert type(model[0].weight).__name__ == "DTensor"
        path = train_and_profile(model, Path(logdir))
        assert (path is None) == (rank != 0), "only rank 0 writes"
        if rank == 0:
            (Path(logdir) / "log.txt").write_text(str(path))
    finally:
        dist.barrier()  # neither rank tears gloo down while the other still talks to it
        dist.destroy_process_group()
    # Done and checked: leave without the interpreter's shutdown, where gloo's threads now and then abort
    # a rank ("terminate called without an active exception", SIGABRT) after all its work is over.
    os._exit(0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def per_layer(records: list[dict]) -> list[dict]:
    return [{l["name"].removeprefix("module."): {k: l[k] for k in ("nnz", "numel", "bytes", "dense_bytes", "hist", "nonfinite")}
             for l in r["layers"]} for r in records if r["type"] == "sample"]


@pytest.mark.parametrize("mode", ["ddp", "fsdp2"])
def test_two_processes_match_one(tmp_path, mode):
    reference = per_layer(read_log(train_and_profile(build(), tmp_path / "single")))
    logdir = tmp_path / mode
    logdir.mkdir()
    mp.spawn(worker, args=(free_port(), mode, str(logdir)), nprocs=WORLD, join=True)
    records = read_log(Path((logdir / "log.txt").read_text()))
    assert len(list(logdir.glob("*/records.ndjson"))) == 1  # one run log, from rank 0
    assert per_layer(records) == reference
    first = reference[0]
    assert first["0"]["nnz"] == 32 * 16 - 32 * 6 and first["2"]["nnz"] == 4 * 32  # zeros set in build()
    assert sum(first["0"]["hist"]["counts"]) == first["0"]["nnz"]
