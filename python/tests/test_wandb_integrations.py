"""Forwarding into the W&B run of a real trainer's own logger (Lightning's WandbLogger, HF Trainer's
report_to="wandb"), the forwarder attaching when that run appears, and what close() leaves in the run (the run
log and report as files, flag counts in the summary, an alert per critical flag): the real client in offline mode,
its run file decoded record by record (wandb_offline.py)."""

import json
import subprocess
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback
from sparselab_profiler.server_launcher import find_cli
from sparselab_profiler.wandb_forward import MAX_ALERTS, MAX_TITLE, WandbForwarder
from wandb_offline import history_rows, items, of_type, offline, run_records, wandb  # noqa: F401 - offline is a fixture

MAX_STEPS = 6
EVERY = 2
IGNORED = {"_timestamp", "_runtime"}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train faster on one thread on a busy CPU, and two seeded runs compute alike."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def user_rows(rows: list[dict]) -> list[dict]:
    """The rows the trainer's logger wrote, without our keys and W&B's timing: rows holding only our keys (those
    committed at finish) are none of the user's."""
    kept = [{k: v for k, v in row.items() if not k.startswith("sparselab/") and k not in IGNORED} for row in rows]
    return [row for row in kept if set(row) - {"_step"}]


def merged(counts: list[int], most: int = 512) -> list[int]:
    """W&B's histograms hold at most 512 bins: neighbours summed pairwise until they fit, an odd last one alone."""
    while len(counts) > most:
        counts = [sum(counts[i:i + 2]) for i in range(0, len(counts), 2)]
    return counts


def assert_forwarded_once(rows: list[dict], records: list[dict], since: int) -> None:
    """Every sample of the run log from step `since` on is in exactly one W&B row, under its own step, with the
    run log's numbers and histogram counts; none from before."""
    samples = [r for r in records if r["type"] == "sample" and r["step"] >= since]
    ours = [row for row in rows if "sparselab/step" in row]
    assert [row["sparselab/step"] for row in ours] == [s["step"] for s in samples]
    for row, sample in zip(ours, samples):
        assert row["sparselab/model/nnz"] == sum(layer["nnz"] for layer in sample["layers"])
        for layer in sample["layers"]:
            key = f"sparselab/layer/{layer['name']}/"
            assert row[key + "hist/values"] == merged(layer["hist"]["counts"])
            assert (row[key + "nnz"], row[key + "sparsity"]) == (layer["nnz"], layer["sparsity"])


# ── Lightning ───────────────────────────────────────────────────────


def lightning_fit(tmp_path, profiled: bool):
    """A seeded fit of the tiny SparseLab net, logged by WandbLogger at every step; returns the W&B run and, when
    profiled, the profiler's Lightning callback."""
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import WandbLogger
    from sparselab_profiler.integrations.lightning import SparsityProfilerCallback as LightningProfiler
    from test_integrations import sparse_net

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = sparse_net()

        def training_step(self, batch, batch_idx):
            loss = F.cross_entropy(self.net(batch[0]), batch[1])
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.5)

    module = Module()
    torch.manual_seed(1)
    data = DataLoader(TensorDataset(torch.randn(64, 16), torch.randint(0, 4, (64,))), batch_size=8)
    callbacks = [LightningProfiler(every=EVERY, logdir=tmp_path / "runs", server=None, overhead_budget=None)] if profiled else []
    logger = WandbLogger(offline=True, project="sparselab-test", save_dir=str(tmp_path))
    trainer = pl.Trainer(max_steps=MAX_STEPS, accelerator="cpu", devices=1, logger=logger, log_every_n_steps=1,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=callbacks)
    trainer.fit(module, data)
    run = logger.experiment
    run.finish()
    return run, callbacks[0] if callbacks else None


def test_lightning_wandb_logger_rows_are_unchanged_and_every_sample_arrives(offline):
    plain, _ = lightning_fit(offline / "plain", profiled=False)
    run, callback = lightning_fit(offline / "profiled", profiled=True)
    rows, expected = history_rows(run), user_rows(history_rows(plain))

    assert user_rows(rows) == expected and len(expected) == MAX_STEPS  # same keys, values and _step
    assert {"train_loss", "trainer/global_step", "epoch"} <= set(expected[0])
    records = read_log(callback.profiler.log_path)
    assert [r["step"] for r in records if r["type"] == "sample"] == [0, 2, 4, 6]
    # WandbLogger makes its run lazily, here (Lightning 2.6) in the trainer's setup, before on_fit_start attaches us;
    # a run made later is the test below
    assert_forwarded_once(rows, records, since=0)
    assert run.config["sparselab"]["every"] == EVERY


# ── Hugging Face Trainer ─────────────────────────────────────────────


def hf_train(tmp_path, profiled: bool):
    from transformers import Trainer, TrainingArguments
    from sparselab_profiler.integrations.transformers import SparsityProfilerCallback as HFProfiler
    from test_integrations import DictDataset, HFModel

    model = HFModel()
    torch.manual_seed(1)
    dataset = DictDataset()
    callbacks = [HFProfiler(every=EVERY, bins=600, logdir=tmp_path / "runs", server=None, overhead_budget=None)] if profiled else []
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=MAX_STEPS, per_device_train_batch_size=8,
                             learning_rate=0.5, report_to="wandb", save_strategy="no", logging_steps=1, use_cpu=True,
                             disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, callbacks=callbacks)
    trainer.train()
    run = wandb.run
    run.finish()
    return run, callbacks[0] if callbacks else None


def test_hugging_face_report_to_wandb_rows_are_unchanged_and_every_sample_arrives(offline, monkeypatch):
    monkeypatch.setenv("WANDB_PROJECT", "sparselab-test")
    plain, _ = hf_train(offline / "plain", profiled=False)
    run, callback = hf_train(offline / "profiled", profiled=True)
    rows, expected = history_rows(run), user_rows(history_rows(plain))

    assert user_rows(rows) == expected and len(expected) >= MAX_STEPS
    assert {"train/loss", "train/global_step"} <= set(expected[0])
    records = read_log(callback.profiler.log_path)
    assert [r["step"] for r in records if r["type"] == "sample"] == [0, 2, 4, 6]
    assert len(records[1]["layers"][0]["hist"]["counts"]) == 600  # W&B takes them merged down to 300
    # HF's WandbCallback, a default callback, makes its run at on_train_begin, before ours attaches
    assert_forwarded_once(rows, records, since=0)


# ── attaching late ───────────────────────────────────────────────────


def test_a_run_created_after_attach_gets_the_samples_from_then_and_wandb_true_warns_once(offline):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4))
    profiler = SparsityProfilerCallback(every=EVERY, logdir=offline / "runs", server=None, overhead_budget=None,
                                        wandb=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profiler.attach(model)
        run = None
        for step in range(1, 9):
            if step == 3:
                run = wandb.init(project="sparselab-test")
            if run is not None:
                run.log({"loss": float(step)})
            profiler.step()
        run.finish()
        profiler.close()  # after the user's finish: nothing more goes to the run, and nothing fails
    said = [str(w.message) for w in caught if "SparseLab" in str(w.message)]
    assert said == ["SparseLab Profiler: wandb=True but there is no wandb.run by step 2; samples are forwarded only "
                    "from when one exists: call wandb.init() (or let your logger create its run) before training."]
    records = run_records(run)
    rows = [items(h) for h in of_type(records, "history")]
    assert [row["loss"] for row in user_rows(rows)] == [float(step) for step in range(3, 9)]
    assert_forwarded_once(rows, read_log(profiler.log_path), since=3)  # samples 4, 6 and 8
    saved = {item.path for files in of_type(records, "files") for item in files.files}
    assert "records.ndjson" not in saved and not of_type(records, "alert")


# ── at close: files, flags, alerts ───────────────────────────────────


@pytest.mark.skipif(find_cli() is None, reason="needs Node.js and the built CLI (scripts/setup.sh)")
def test_close_saves_the_run_log_and_report_and_alerts_each_critical_flag(offline, monkeypatch):
    from test_flags import diverge  # training that diverges to NaN: critical flags for the loss and both layers

    monkeypatch.setenv("SPARSELAB_PROFILER_REPORT", "1")
    run = wandb.init(project="sparselab-test")
    log, _ = diverge(offline / "runs", pruned_first_layer=False)  # the profiler attaches to the live run
    run.finish()
    done = subprocess.run([*find_cli(), "check", str(log.parent), "--json", "--fail-on", "never"],
                          capture_output=True, text=True, timeout=60)
    flags = json.loads(done.stdout)["flags"]
    critical = [f for f in flags if f["severity"] == "critical"]
    assert {(f["rule"], tuple(f["layers"])) for f in critical} == {
        ("non-finite-loss", ()), ("non-finite-weights", ("fc1",)), ("non-finite-weights", ("fc2",))}

    records = run_records(run)
    saved = {item.path for files in of_type(records, "files") for item in files.files}
    assert {"records.ndjson", "report.html"} <= saved
    summary = {}
    for update in of_type(records, "summary"):
        summary.update(items(update))
    assert {k: summary[k] for k in summary if k.startswith("sparselab/flags/")} == {
        f"sparselab/flags/{s}": sum(f["severity"] == s for f in flags) for s in ("critical", "warning", "info")}
    alerts = {a.title: a for a in of_type(records, "alert")}
    assert set(alerts) == {"SparseLab: non-finite-loss", "SparseLab: non-finite-weights in fc1",
                           "SparseLab: non-finite-weights in fc2"}
    for flag in critical:
        alert = alerts[f"SparseLab: {flag['rule']}" + (f" in {flag['layers'][0]}" if flag["layers"] else "")]
        assert alert.level == "ERROR"
        assert alert.text.startswith(flag["message"]) and alert.text.endswith(f"Fix: {flag['fix']}")
    assert "fc1 holds" in alerts["SparseLab: non-finite-weights in fc1"].text


class RecordingRun:
    """Takes what the forwarder sends at close, as a live run would."""

    _local_step = 0
    _teardown_hooks = []

    def __init__(self):
        self.config, self.summary, self.alerts, self.saved = {}, {}, [], []

    def define_metric(self, *args, **kwargs):
        pass

    def save(self, path, base_path=None, policy=None):
        self.saved.append((path, base_path, policy))

    def alert(self, title, text, level=None):
        assert len(title) <= MAX_TITLE
        self.alerts.append((title, text, level))


def flag(rule, layers, severity="critical"):
    return {"rule": rule, "severity": severity, "layers": layers, "from": 2, "to": 8, "message": f"{rule} happened",
            "evidence": {}, "fix": "do something"}


def test_alerts_stop_at_ten_then_one_sums_up_the_rest_and_a_failure_only_warns(tmp_path):
    run = RecordingRun()
    forwarder = WandbForwarder(run)
    many = [flag("dead-layer", [f"encoder.block{i}.attention.output.dense"]) for i in range(13)]
    forwarder.publish([tmp_path / "records.ndjson"], tmp_path,
                      lambda: [*many, flag("sparsity-drift", ["a", "b", "c", "d"]), flag("wasted-update", ["a"], "warning")])
    assert run.summary == {"sparselab/flags/critical": 14, "sparselab/flags/warning": 1, "sparselab/flags/info": 0}
    assert run.saved == [(str(tmp_path / "records.ndjson"), str(tmp_path), "now")]
    assert len(run.alerts) == MAX_ALERTS + 1 and {level for *_, level in run.alerts} == {wandb.AlertLevel.ERROR}
    assert run.alerts[0] == ("SparseLab: dead-layer in encoder.block0.attention.output.dense",
                             "dead-layer happened (steps 2 to 8).\nFix: do something", wandb.AlertLevel.ERROR)
    title, text, _ = run.alerts[-1]
    assert title == "SparseLab: 4 more critical flags"
    assert "sparsity-drift in a, b and 2 more: sparsity-drift happened" in text and "block12" in text

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        WandbForwarder(RecordingRun()).publish([], tmp_path, lambda: 1 / 0)
    assert [str(w.message) for w in caught] == [
        "SparseLab Profiler: W&B did not get the run's flags at close (ZeroDivisionError: division by zero); the "
        "run log is complete."]
