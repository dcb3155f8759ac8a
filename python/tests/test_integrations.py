"""Lightning (both packages) and Hugging Face Trainer: a tiny SparseLab model trained a few real steps."""

import importlib

import numpy as np
import pytest
import sparselab
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from conftest import read_log

UPDATE_FREQ = 3
MAX_STEPS = 6


def sparse_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(sparselab.SparseLinear(16, 24, sparsity=0.8), nn.ReLU(), sparselab.SparseLinear(24, 4, sparsity=0.8))


def topology(layer) -> set:
    csr = layer._csr
    starts, counts, cols = np.asarray(csr.row_start), np.asarray(csr.row_nnz), np.asarray(csr.col_indices)
    return {(r, int(c)) for r in range(csr.nrows) for c in cols[starts[r]:starts[r] + counts[r]]}


def record_updates(algorithm, net: nn.Sequential, step_of) -> list:
    """Diffs the topology around each algorithm update, independently of the profiler's hook."""
    expected = []
    original = algorithm.step
    layers = {"net.0": net[0], "net.2": net[2]}

    def step():
        before = {n: topology(l) for n, l in layers.items()}
        original()
        if algorithm._step_idx % UPDATE_FREQ == 0:
            for name, layer in layers.items():
                after = topology(layer)
                expected.extend([(step_of(), name, "drop", len(before[name] - after)),
                                 (step_of(), name, "grow", len(after - before[name]))])
    algorithm.step = step
    return expected


def observed(records):
    samples = [r["step"] for r in records if r["type"] == "sample"]
    events = [(r["step"], r["layer"], r["op"], r["count"]) for r in records if r["type"] == "event"]
    return samples, events


@pytest.mark.parametrize("flavour", ["lightning", "pytorch_lightning"])
def test_lightning_samples_per_optimizer_step_under_gradient_accumulation(tmp_path, flavour):
    pl = importlib.import_module("lightning.pytorch" if flavour == "lightning" else "pytorch_lightning")
    integration = importlib.import_module(f"sparselab_profiler.integrations.{flavour}")

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = sparse_net()

        def training_step(self, batch, batch_idx):
            x, y = batch
            return F.cross_entropy(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.5)

    module = Module()
    rigl = sparselab.RigL(sparsity=0.8, drop_fraction=0.3, update_freq=UPDATE_FREQ, seed=0)
    module.net.apply(rigl)
    callback = integration.SparsityProfilerCallback(algorithm=rigl, step_algorithm=True, every=2, logdir=tmp_path,
                                                    server=None, overhead_budget=None)
    trainer = pl.Trainer(max_steps=MAX_STEPS, accumulate_grad_batches=2, accelerator="cpu", devices=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[callback])
    expected_events = record_updates(rigl, module.net, lambda: trainer.global_step)
    data = DataLoader(TensorDataset(torch.randn(64, 16), torch.randint(0, 4, (64,))), batch_size=8)
    trainer.fit(module, data)

    records = read_log(callback.profiler.log_path)
    samples, events = observed(records)
    assert samples == [0, 2, 4, 6]  # per optimizer step, not per micro-batch
    assert events == expected_events and [e[0] for e in events[::4]] == [3, 6]
    assert sum(e[3] for e in events if e[2] == "drop") > 0
    assert records[-1] == {**records[-1], "type": "end", "status": "finished", "step": 6}


class DictDataset(Dataset):
    def __init__(self):
        self.x, self.y = torch.randn(64, 16), torch.randint(0, 4, (64,))

    def __len__(self):
        return 64

    def __getitem__(self, i):
        return {"x": self.x[i], "labels": self.y[i]}


class HFModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = sparse_net()

    def forward(self, x, labels=None):
        logits = self.net(x)
        return {"loss": F.cross_entropy(logits, labels), "logits": logits}


def test_hugging_face_trainer_steps_the_algorithm_and_samples_every_n_steps(tmp_path):
    from transformers import Trainer, TrainingArguments
    from sparselab_profiler.integrations.transformers import SparsityProfilerCallback

    model = HFModel()
    rigl = sparselab.RigL(sparsity=0.8, drop_fraction=0.3, update_freq=UPDATE_FREQ, seed=0)
    model.net.apply(rigl)
    callback = SparsityProfilerCallback(algorithm=rigl, step_algorithm=True, every=2, logdir=tmp_path / "runs",
                                        server=None, overhead_budget=None)
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=MAX_STEPS, per_device_train_batch_size=8,
                             gradient_accumulation_steps=2, learning_rate=0.5, report_to="none", save_strategy="no",
                             logging_strategy="no", use_cpu=True, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=DictDataset(), callbacks=[callback])
    expected_events = record_updates(rigl, model.net, lambda: trainer.state.global_step)
    trainer.train()

    records = read_log(callback.profiler.log_path)
    samples, events = observed(records)
    assert samples == [0, 2, 4, 6]
    assert events == expected_events and [e[0] for e in events[::4]] == [3, 6]
    assert records[-1]["status"] == "finished"


def test_one_lightning_callback_reused_for_a_second_fit_records_two_complete_runs(tmp_path):
    import lightning.pytorch as pl
    from sparselab_profiler.integrations.lightning import SparsityProfilerCallback

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = sparse_net()

        def training_step(self, batch, batch_idx):
            return F.cross_entropy(self.net(batch[0]), batch[1])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.5)

    module = Module()
    callback = SparsityProfilerCallback(every=2, logdir=tmp_path, server=None, overhead_budget=None)
    data = DataLoader(TensorDataset(torch.randn(64, 16), torch.randint(0, 4, (64,))), batch_size=8)
    logs = []
    for max_steps in (4, 6):  # fit, then fine-tune with the same callback (a re-run notebook cell does the same)
        trainer = pl.Trainer(max_steps=max_steps, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False, callbacks=[callback])
        trainer.fit(module, data)
        logs.append(callback.profiler.log_path)
    assert logs[0] != logs[1]
    first, second = read_log(logs[0]), read_log(logs[1])
    assert [r["step"] for r in first if r["type"] == "sample"] == [0, 2, 4]
    assert [r["step"] for r in second if r["type"] == "sample"] == [0, 2, 4, 6]
    for records in (first, second):
        assert records[-1]["type"] == "end" and records[-1]["status"] == "finished"
        assert [r["seq"] for r in records] == list(range(len(records)))
