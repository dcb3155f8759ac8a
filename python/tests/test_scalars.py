"""Training scalars on samples (the mean of each window, null for a non-finite one) and the overhead budget in
the run record: a tiny model trained a few real steps, the expected means computed here from the values the
loop passed, independently of the profiler."""

import importlib
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from conftest import read_log
from test_integrations import DictDataset, HFModel, sparse_net
from sparselab_profiler import SparsityProfilerCallback, records
from sparselab_profiler.records import MAX_SCALAR_NAME_CHARS, MAX_SCALARS
from wire_schema import SCHEMA, validate_record

EVERY = 3
STEPS = 10


def tiny_model(device: str = "cpu") -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).to(device)


def train(profiler: SparsityProfilerCallback, model: nn.Module, scalars_at, steps: int = STEPS) -> dict[int, dict]:
    """Trains `steps` steps, passing `scalars_at(...)` to profiler.step(); returns what each step passed."""
    device = next(model.parameters()).device
    torch.manual_seed(1)
    x, y = torch.randn(32, 8, device=device), torch.randint(0, 3, (32,), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    passed = {}
    for step in range(1, steps + 1):
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        passed[step] = scalars_at(step, loss, logits, y)
        profiler.step(**passed[step])
    return passed


def expected_means(passed: dict[int, dict], sample_steps: list[int]) -> list[dict]:
    """Per sample, each name's mean over the steps after the previous sample up to its own; None if one of
    them was NaN or ±Inf; nothing for a sample whose window passed no value."""
    out = []
    for previous, step in zip([-1] + sample_steps, sample_steps):
        window: dict[str, list[float]] = {}
        for s in range(previous + 1, step + 1):
            for name, value in passed.get(s, {}).items():
                if value is not None:
                    window.setdefault(name, []).append(float(value.detach() if isinstance(value, torch.Tensor) else value))
        out.append({name: (sum(v) / len(v) if all(map(math.isfinite, v)) else None) for name, v in window.items()})
    return out


def samples_of(profiler) -> list[dict]:
    log = read_log(profiler.log_path)
    for record in log:
        validate_record(record)
    return [r for r in log if r["type"] == "sample"]


def assert_means(samples: list[dict], passed: dict[int, dict], rel: float = 1e-12) -> None:
    for sample, expected in zip(samples, expected_means(passed, [s["step"] for s in samples]), strict=True):
        if not expected:
            assert "scalars" not in sample, sample["step"]
            continue
        assert sample["scalars"].keys() == expected.keys()
        for name, mean in expected.items():
            assert sample["scalars"][name] == (None if mean is None else pytest.approx(mean, rel=rel)), (sample["step"], name)


@pytest.mark.parametrize("on_device", [False, True], ids=["host", "device path"])
def test_each_sample_carries_the_mean_of_each_scalar_over_its_window(tmp_path, on_device):
    def scalars_at(step, loss, logits, y):
        accuracy = (logits.argmax(1) == y).float().mean()  # a tensor, as most code has it
        return {"loss": loss, "accuracy": accuracy.item() if step % 2 else accuracy, "lr": 0.5, "seen": torch.tensor(32 * step)}

    with SparsityProfilerCallback(every=EVERY, logdir=tmp_path, server=None, overhead_budget=None,
                                  measure_on_device=on_device) as profiler:
        model = tiny_model()
        profiler.attach(model)
        passed = train(profiler, model, scalars_at)
    samples = samples_of(profiler)
    assert [s["step"] for s in samples] == [0, 3, 6, 9, 10]
    assert "scalars" not in samples[0]  # at attach: no step yet
    assert list(samples[1]["scalars"]) == ["loss", "accuracy", "lr", "seen"]
    assert samples[-1]["scalars"]["seen"] == 320  # close()'s sample: step 10 alone
    assert_means(samples, passed)
    assert samples[1]["scalars"]["loss"] == pytest.approx(sum(passed[s]["loss"].item() for s in (1, 2, 3)) / 3, rel=1e-12)


def test_a_nan_or_infinite_value_makes_that_scalar_null_for_its_window_only(tmp_path):
    def scalars_at(step, loss, logits, y):
        return {"loss": loss * float("nan") if step == 5 else loss,  # diverged once, on the device
                "grad_scale": math.inf if step == 8 else 1.0,  # a plain number
                "other": step}

    with SparsityProfilerCallback(every=EVERY, logdir=tmp_path, server=None, overhead_budget=None) as profiler:
        model = tiny_model()
        profiler.attach(model)
        passed = train(profiler, model, scalars_at)
    samples = samples_of(profiler)
    by_step = {s["step"]: s.get("scalars") for s in samples}
    assert by_step[6]["loss"] is None and by_step[9]["loss"] is not None and by_step[3]["loss"] is not None
    assert by_step[9]["grad_scale"] is None and by_step[6]["grad_scale"] == 1.0
    assert by_step[6]["other"] == 5.0 and by_step[9]["other"] == 8.0
    assert_means(samples, passed)
    assert "NaN" not in profiler.log_path.read_text()


def test_a_bad_scalar_warns_once_naming_it_and_training_and_the_other_scalars_go_on(tmp_path):
    def scalars_at(step, loss, logits, y):
        return {"loss": loss, "accuracy": 0.5, "phase": "warmup", "per_class": logits.mean(0),
                "maybe": None if step % 2 else float(step), **{"": 1.0, "x" * (MAX_SCALAR_NAME_CHARS + 1): 2.0}}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with SparsityProfilerCallback(every=EVERY, logdir=tmp_path, server=None, overhead_budget=None) as profiler:
            model = tiny_model()
            profiler.attach(model)
            passed = train(profiler, model, scalars_at)
    ours = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    messages = [str(w.message) for w in ours]
    assert len(messages) == 4, messages  # one per bad name, however many steps passed it
    for name in ("'phase'", "'per_class'", "''", repr("x" * (MAX_SCALAR_NAME_CHARS + 1))):
        assert sum(name in m for m in messages) == 1, name
    assert {w.filename for w in ours} == {__file__}  # each points at the training loop's step() call
    assert not profiler._disabled
    samples = samples_of(profiler)
    assert [s["step"] for s in samples] == [0, 3, 6, 9, 10] and read_log(profiler.log_path)[-1]["status"] == "finished"
    good = {step: {k: v for k, v in p.items() if k in ("loss", "accuracy", "maybe")} for step, p in passed.items()}
    assert_means(samples, good)  # None is no value: `maybe` averages the even steps only
    assert samples[1]["scalars"]["maybe"] == 2.0


def test_names_past_the_limit_are_dropped_with_one_warning(tmp_path):
    names = [f"m{i:02d}" for i in range(MAX_SCALARS + 6)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with SparsityProfilerCallback(every=EVERY, logdir=tmp_path, server=None, overhead_budget=None) as profiler:
            model = tiny_model()
            profiler.attach(model)
            train(profiler, model, lambda step, loss, logits, y: {"loss": loss, **{n: step for n in names}})
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and f"at most {MAX_SCALARS} scalars" in messages[0] and "'m63'" in messages[0]
    for sample in samples_of(profiler)[1:]:
        assert list(sample["scalars"]) == ["loss", *names[:MAX_SCALARS - 1]]


def test_without_scalars_samples_have_none_and_the_run_record_states_the_budget(tmp_path):
    for budget in (0.05, None):
        with SparsityProfilerCallback(every=EVERY, logdir=tmp_path / str(budget), server=None, overhead_budget=budget) as profiler:
            model = tiny_model()
            profiler.attach(model)
            train(profiler, model, lambda step, loss, logits, y: {"loss": None} if step % 2 else {})
        run = read_log(profiler.log_path)[0]
        assert run["sampler"] == {"every": EVERY, "budget": budget}
        assert all("scalars" not in s for s in samples_of(profiler))
    with SparsityProfilerCallback(logdir=tmp_path / "default", server=None) as profiler:
        profiler.attach(tiny_model())
    assert read_log(profiler.log_path)[0]["sampler"] == {"every": 10, "budget": 0.01}


def test_the_scalar_limits_python_writes_within_are_the_schemas():
    scalars = SCHEMA["$defs"]["SampleRecord"]["properties"]["scalars"]
    assert scalars["maxProperties"] == records.MAX_SCALARS == 64
    assert scalars["propertyNames"] == {"type": "string", "minLength": 1, "maxLength": records.MAX_SCALAR_NAME_CHARS}
    assert "scalars" not in SCHEMA["$defs"]["SampleRecord"]["required"]
    assert "budget" not in SCHEMA["$defs"]["SamplerConfig"]["required"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_cuda_loss_is_summed_on_the_device_without_a_sync_per_step(tmp_path):
    losses = []

    def scalars_at(step, loss, logits, y):
        losses.append(loss.detach())
        return {"loss": loss}

    model = tiny_model("cuda")
    with SparsityProfilerCallback(every=EVERY, logdir=tmp_path, server=None, overhead_budget=None) as profiler:
        profiler.attach(model)
        original = profiler.step

        def step_without_syncing(**scalars):
            # a step that takes no sample must not wait for the GPU: "error" raises inside the profiler's guard,
            # which would disable it with a warning
            torch.cuda.set_sync_debug_mode("error" if (profiler._step + 1) % EVERY else "default")
            try:
                original(**scalars)
            finally:
                torch.cuda.set_sync_debug_mode("default")

        profiler.step = step_without_syncing
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            passed = train(profiler, model, scalars_at)
    assert not profiler._disabled and not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    samples = samples_of(profiler)
    assert [s["step"] for s in samples] == [0, 3, 6, 9, 10]
    assert_means(samples, {step: {"loss": losses[step - 1].item()} for step in passed})


@pytest.mark.parametrize("flavour", ["lightning", "pytorch_lightning"])
def test_lightning_passes_each_optimizer_steps_loss(tmp_path, flavour):
    pl = importlib.import_module("lightning.pytorch" if flavour == "lightning" else "pytorch_lightning")
    integration = importlib.import_module(f"sparselab_profiler.integrations.{flavour}")
    batch_losses: dict[int, list[float]] = {}  # optimizer step → its micro-batches' losses

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = sparse_net()

        def training_step(self, batch, batch_idx):
            loss = F.cross_entropy(self.net(batch[0]), batch[1])
            batch_losses.setdefault(self.trainer.global_step + 1, []).append(loss.item())
            return {"loss": loss} if batch_idx % 4 < 2 else loss  # both forms Lightning takes

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.5)

    callback = integration.SparsityProfilerCallback(every=2, logdir=tmp_path, server=None, overhead_budget=None)
    trainer = pl.Trainer(max_steps=6, accumulate_grad_batches=2, accelerator="cpu", devices=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[callback])
    trainer.fit(Module(), DataLoader(TensorDataset(torch.randn(64, 16), torch.randint(0, 4, (64,))), batch_size=8))

    samples = samples_of(callback.profiler)
    assert [s["step"] for s in samples] == [0, 2, 4, 6]
    assert all(len(losses) == 2 for losses in batch_losses.values())
    # the loss of an optimizer step is its micro-batches' mean (Lightning scales each by 1/2 before backward)
    assert_means(samples, {step: {"loss": sum(losses) / 2} for step, losses in batch_losses.items()}, rel=1e-6)


@pytest.mark.parametrize("logging_steps", [1, 2])
def test_hugging_face_passes_the_logged_loss_at_the_step_it_was_logged(tmp_path, logging_steps):
    from transformers import Trainer, TrainingArguments
    from sparselab_profiler.integrations.transformers import SparsityProfilerCallback

    callback = SparsityProfilerCallback(every=2, logdir=tmp_path / "runs", server=None, overhead_budget=None)
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=6, per_device_train_batch_size=8,
                             gradient_accumulation_steps=2, learning_rate=0.5, report_to="none", save_strategy="no",
                             logging_strategy="steps", logging_steps=logging_steps, use_cpu=True, disable_tqdm=True)
    trainer = Trainer(model=HFModel(), args=args, train_dataset=DictDataset(), callbacks=[callback])
    trainer.train()

    logged = {log["step"]: {k: log[k] for k in ("loss", "grad_norm", "learning_rate")}
              for log in trainer.state.log_history if "loss" in log}
    assert sorted(logged) == list(range(logging_steps, 7, logging_steps))
    samples = samples_of(callback.profiler)
    assert [s["step"] for s in samples] == [0, 2, 4, 6]
    assert_means(samples, logged)  # logged at step 2, the loss is step 2's sample's: no shift
    assert all(set(s["scalars"]) == {"loss", "grad_norm", "learning_rate"} for s in samples[1:])
